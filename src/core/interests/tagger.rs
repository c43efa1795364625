//! The `text_interest_tags` tagger: keyword extraction against the
//! vocabulary in `vocabulary.txt`, compiled into the binary. No network, no
//! model: the same text always gives the same tags.
//!
//! Text is lowercased and split into words at every character that is not
//! a letter or a digit (`push-up` is `jumping jack`). A keyword of one or more
//! words matches the same words in a row; the last word of the run may
//! carry a plural `s` (`recipes` matches `recipe`, `jumping jacks` matches
//! `jumping jack`). Each tag counts its matches; the tags come out most matched
//! first, then in the order of their first match, at most `MAX_TAGS`.

use std::collections::HashMap;
use std::sync::OnceLock;

/// Most tags the tagger gives one text.
pub const MAX_TAGS: usize = 10;
/// Words of a text the tagger reads (the rest is ignored): keeps tagging
/// linear and bounded whatever the text's length.
pub const MAX_WORDS: usize = 20_000;

const SOURCE: &str = include_str!("vocabulary.txt");

struct Vocabulary {
    /// keyword (words joined by one space) → tag indexes
    keywords: HashMap<String, Vec<usize>>,
    tags: Vec<String>,
    /// Most words in one keyword.
    longest: usize,
}

fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase)
}

fn parse(source: &str) -> Vocabulary {
    let mut v = Vocabulary { keywords: HashMap::new(), tags: Vec::new(), longest: 1 };
    for line in source.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let Some((tag, list)) = line.split_once(':') else { continue };
        let tag = tag.trim().to_lowercase();
        let index = match v.tags.iter().position(|t| *t == tag) {
            Some(i) => i,
            None => {
                v.tags.push(tag.clone());
                v.tags.len() - 1
            }
        };
        for keyword in list.split(',').map(str::trim).chain(std::iter::once(tag.as_str())) {
            let ws: Vec<String> = words(keyword).collect();
            if ws.is_empty() {
                continue;
            }
            v.longest = v.longest.max(ws.len());
            let entry = v.keywords.entry(ws.join(" ")).or_default();
            if !entry.contains(&index) {
                entry.push(index);
            }
        }
    }
    v
}

fn vocabulary() -> &'static Vocabulary {
    static V: OnceLock<Vocabulary> = OnceLock::new();
    V.get_or_init(|| parse(SOURCE))
}

/// The plural-stripped form of a word, when it has one: `recipes` →
/// `recipe`; not `ss` endings (`fitness`) nor short words (`bus`).
fn singular(word: &str) -> Option<&str> {
    (word.len() > 3 && word.ends_with('s') && !word.ends_with("ss")).then(|| &word[..word.len() - 1])
}

/// The tags of `text`, most matched first.
pub fn tags_of(text: &str) -> Vec<String> {
    tags_with(vocabulary(), text)
}

fn tags_with(v: &Vocabulary, text: &str) -> Vec<String> {
    let ws: Vec<String> = words(text).take(MAX_WORDS).collect();
    // tag index → (matches, first position)
    let mut hits: HashMap<usize, (usize, usize)> = HashMap::new();
    let mut phrase = String::new();
    for start in 0..ws.len() {
        phrase.clear();
        for (n, word) in ws[start..].iter().take(v.longest).enumerate() {
            if n > 0 {
                phrase.push(' ');
            }
            let stem = phrase.len();
            phrase.push_str(word);
            let mut found = v.keywords.get(&phrase);
            if found.is_none() {
                if let Some(s) = singular(word) {
                    let mut alt = phrase[..stem].to_string();
                    alt.push_str(s);
                    found = v.keywords.get(&alt);
                }
            }
            for &tag in found.into_iter().flatten() {
                let entry = hits.entry(tag).or_insert((0, start));
                entry.0 += 1;
            }
        }
    }
    let mut ranked: Vec<(usize, (usize, usize))> = hits.into_iter().collect();
    ranked.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.1 .1.cmp(&b.1 .1)).then(a.0.cmp(&b.0)));
    ranked.into_iter().take(MAX_TAGS).map(|(tag, _)| v.tags[tag].clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_vocabulary_is_a_few_hundred_keywords() {
        let v = vocabulary();
        assert!(v.tags.len() >= 20, "{}", v.tags.len());
        assert!(v.keywords.len() >= 300, "{}", v.keywords.len());
        assert!(v.tags.iter().all(|t| !t.is_empty() && !t.contains(' ')));
    }

    #[test]
    fn the_documented_example() {
        let tags = tags_of("10 fitness tips for lower back pain");
        for t in ["fitness", "health", "tips"] {
            assert!(tags.contains(&t.to_string()), "{tags:?}");
        }
        assert_eq!(tags[0], "health", "two matches (back pain, pain) come first: {tags:?}");
    }

    #[test]
    fn words_plurals_phrases_and_case() {
        let v = parse("food: recipe, pizza\nfitness: jumping jack\ntech: ai, rust\n");
        assert_eq!(tags_with(&v, "My favourite RECIPES!"), ["food"]);
        assert_eq!(tags_with(&v, "50 jumping-jacks a day"), ["fitness"]);
        assert_eq!(tags_with(&v, "pizzeria and trusty tools"), Vec::<String>::new(), "whole words only");
        assert_eq!(tags_with(&v, "AI and Rust, pizza"), ["tech", "food"], "more matches first");
        assert_eq!(tags_with(&v, "the food is great"), ["food"], "a tag's name is a keyword");
        assert!(tags_with(&v, "").is_empty());
    }

    #[test]
    fn deterministic_and_bounded() {
        let text = "football concert pizza hotel laptop novel camera painting galaxy forest puppy stock \
                    election school baby car tip joke movie episode fashion yoga doctor";
        let a = tags_of(text);
        assert_eq!(a, tags_of(text));
        assert_eq!(a.len(), MAX_TAGS);
        let long = "pizza ".repeat(MAX_WORDS * 2);
        assert_eq!(tags_of(&long), ["food"]);
    }
}
