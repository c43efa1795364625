//! The configuration file (`tributary serve --config tributary.toml`, or
//! `TRIBUTARY_CONFIG`): flat TOML keys named like the long flags (`-` or
//! `_`). Each value becomes that flag's default, so clap still decides the
//! precedence (flags > environment > file > built-in defaults) and its own
//! value parsers check file values. Every value is checked even when a flag
//! or variable overrides it, so a bad file never waits for the day the
//! override is removed.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command};

/// The flag that names the file: not a key inside it.
pub const CONFIG_ARG: &str = "config";

/// A read and checked configuration file: flag ids and their values as
/// clap would receive them.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    path: PathBuf,
    values: BTreeMap<String, String>,
}

impl ConfigFile {
    /// Reads `path` and checks every key and value against the flags of
    /// `serve`; errors name the file and the key.
    pub fn read(path: &Path, serve: &Command) -> Result<ConfigFile, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        ConfigFile::parse(path, &text, serve)
    }

    pub fn parse(path: &Path, text: &str, serve: &Command) -> Result<ConfigFile, String> {
        let at = path.display();
        let table: toml::Table = text.parse().map_err(|e| format!("{at}: not valid TOML: {e}"))?;
        let mut values = BTreeMap::new();
        for (key, value) in table {
            let arg = option_arg(serve, &key).ok_or_else(|| match value {
                toml::Value::Table(_) => {
                    format!("{at}: unknown table `[{key}]`; keys are flat, named like the long flags of `tributary serve --help`")
                }
                _ => format!("{at}: unknown key `{key}`; the keys are the long flags of `tributary serve --help`"),
            })?;
            let text = flag_text(&value).map_err(|why| format!("{at}: `{key}` {why}"))?;
            check_value(arg, &text).map_err(|why| format!("{at}: `{key}` = {value}: {why}"))?;
            if values.insert(arg.get_id().to_string(), text).is_some() {
                return Err(format!("{at}: `{key}` is given twice (once with `-`, once with `_`)"));
            }
        }
        Ok(ConfigFile { path: path.to_path_buf(), values })
    }

    /// `serve` with the file's values as the flags' defaults.
    pub fn apply(&self, serve: Command) -> Command {
        self.values.iter().fold(serve, |serve, (id, value)| serve.mut_arg(id, |arg| arg.default_value(value.clone())))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sets(&self, id: &str) -> bool {
        self.values.contains_key(id)
    }
}

/// The option a file key names (`rate-limits` or `rate_limits`), if any.
fn option_arg<'a>(serve: &'a Command, key: &str) -> Option<&'a Arg> {
    let id = key.replace('-', "_");
    serve.get_arguments().find(|arg| arg.get_id() == id.as_str() && id != CONFIG_ARG && takes_value(arg))
}

fn takes_value(arg: &Arg) -> bool {
    !arg.is_positional() && matches!(arg.get_action(), ArgAction::Set)
}

/// A TOML value as the flag's text: scalars as written, an array as the
/// comma-separated list the list flags take (`cors_origins`, `webhook_hosts`,
/// `rate_limits`).
fn flag_text(value: &toml::Value) -> Result<String, String> {
    match value {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(n) => Ok(n.to_string()),
        toml::Value::Float(x) => Ok(x.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        toml::Value::Array(items) => items
            .iter()
            .map(|item| match item {
                toml::Value::Array(_) | toml::Value::Table(_) => {
                    Err("is a list of lists; give a list of strings".into())
                }
                item => flag_text(item),
            })
            .collect::<Result<Vec<_>, String>>()
            .map(|items| items.join(",")),
        toml::Value::Table(_) => Err("is a table; keys are flat, named like the flags (`rate_limits = ...`)".into()),
        toml::Value::Datetime(_) => Err("is a date; give a string".into()),
    }
}

/// Runs the flag's own value parser on `text`, alone (no environment, no
/// default), so the message is the one `--flag text` would get.
fn check_value(arg: &Arg, text: &str) -> Result<(), String> {
    let alone = arg.clone().env(None).default_value(None).required(false);
    let long = arg.get_long().unwrap_or(arg.get_id().as_str()).to_string();
    Command::new("tributary")
        .no_binary_name(true)
        .disable_help_flag(true)
        .arg(alone)
        .try_get_matches_from([format!("--{long}={text}")])
        .map(drop)
        .map_err(|e| match std::error::Error::source(&e) {
            Some(why) => why.to_string(),
            None => {
                let rendered = e.render().to_string();
                let first = rendered.lines().next().unwrap_or_default();
                first.trim_start_matches("error: ").to_string()
            }
        })
}

/// The effective configuration as TOML, each value with where it came
/// from; secrets are masked (flags that hide their environment values, and
/// the database URL's password).
pub fn describe(serve: &Command, matches: &ArgMatches, file: Option<&ConfigFile>) -> String {
    let mut out = String::from("# effective configuration (flags > environment > file > defaults)\n");
    for arg in serve.get_arguments().filter(|arg| takes_value(arg)) {
        let id = arg.get_id().as_str();
        let Some(raw) = matches.get_raw(id) else {
            out.push_str(&format!("# {id}: unset\n"));
            continue;
        };
        let value = raw.map(OsStr::to_string_lossy).collect::<Vec<_>>().join(",");
        let shown = if arg.is_hide_env_values_set() {
            "********".to_string()
        } else if id == "database_url" {
            mask_url_password(&value)
        } else {
            value
        };
        let source = match matches.value_source(id) {
            Some(ValueSource::CommandLine) => format!("flag --{}", arg.get_long().unwrap_or(id)),
            Some(ValueSource::EnvVariable) => {
                format!("env {}", arg.get_env().map(OsStr::to_string_lossy).unwrap_or_default())
            }
            Some(ValueSource::DefaultValue) => match file {
                Some(file) if file.sets(id) => format!("file {}", file.path().display()),
                _ => "default".to_string(),
            },
            _ => "unknown".to_string(),
        };
        out.push_str(&format!("{id} = {}  # {source}\n", toml::Value::String(shown)));
    }
    out
}

/// `postgres://user:secret@host/db?password=x` with both passwords masked;
/// a value that is not a URL is masked whole, since its parts are unknown.
fn mask_url_password(value: &str) -> String {
    const MASK: &str = "********";
    if value.is_empty() {
        return String::new();
    }
    let Ok(mut url) = url::Url::parse(value) else {
        return MASK.to_string();
    };
    if url.password().is_some() && url.set_password(Some(MASK)).is_err() {
        return MASK.to_string();
    }
    if url.query_pairs().any(|(key, _)| key == "password") {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(key, value)| {
                let value = if key == "password" { MASK.to_string() } else { value.into_owned() };
                (key.into_owned(), value)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_passwords_are_masked_and_the_rest_kept() {
        assert_eq!(mask_url_password("postgres://app:hunter2@db:5432/feeds"), "postgres://app:********@db:5432/feeds");
        assert_eq!(mask_url_password("postgres://app@db/feeds"), "postgres://app@db/feeds");
        let masked = mask_url_password("postgres://db/feeds?user=app&password=hunter2");
        assert!(!masked.contains("hunter2") && masked.contains("user=app"), "{masked}");
        assert_eq!(mask_url_password("host=db password=hunter2"), "********");
        assert_eq!(mask_url_password(""), "", "an empty URL (SQLite) hides nothing");
    }
}
