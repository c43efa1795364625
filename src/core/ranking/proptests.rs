//! Properties of the score language over generated input: compiling never
//! panics, printing reads back as the same tree, and evaluation is total.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::json;

use super::config::compile;
use super::eval::{ActivityInputs, Env};
use super::parser::parse;

const USER_FUNCTIONS: &[&str] = &["boost"];

fn user_functions() -> Vec<String> {
    USER_FUNCTIONS.iter().map(|s| s.to_string()).collect()
}

/// Well-formed expressions (mostly well-typed) from the grammar.
fn expression() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        (0.0f64..1e6).prop_map(|n| format!("{n}")),
        (0u32..1000).prop_map(|n| n.to_string()),
        prop::sample::select(vec![
            "time",
            "age",
            "popularity",
            "reaction_count",
            "reaction_counts.like",
            "comment_count",
            "bookmark_count",
            "share_count",
            "interest_score",
            "preference_score",
            "custom.topic",
            "custom.a.b",
            "user_score",
            "'text'",
            "type",
            "selector_source",
        ])
        .prop_map(str::to_string),
    ];
    leaf.prop_recursive(6, 64, 4, |inner| {
        let op = prop::sample::select(vec!["+", "-", "*", "/", "^", "&&", "||", "==", "!=", "<", "<=", ">", ">="]);
        let f1 = prop::sample::select(vec![
            "ln",
            "log",
            "sin",
            "cos",
            "tan",
            "abs",
            "trunc",
            "round",
            "decay_linear",
            "decay_exp",
            "decay_gauss",
            "to_unix_timestamp",
            "BOOST",
        ]);
        prop_oneof![
            (inner.clone(), op, inner.clone()).prop_map(|(a, op, b)| format!("{a} {op} {b}")),
            inner.clone().prop_map(|a| format!("({a})")),
            inner.clone().prop_map(|a| format!("-{a}")),
            inner.clone().prop_map(|a| format!("!{a}")),
            (inner.clone(), inner.clone(), inner.clone()).prop_map(|(c, a, b)| format!("{c} ? {a} : {b}")),
            (f1, inner.clone()).prop_map(|(f, a)| format!("{f}({a})")),
            prop::collection::vec(inner.clone(), 2..4).prop_map(|args| format!("max({})", args.join(", "))),
            prop::collection::vec(inner.clone(), 2..4).prop_map(|args| format!("min({})", args.join(", "))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("rand({a}, {b})")),
            prop::collection::vec(inner.clone(), 4..5).prop_map(|args| format!("rand_normal({})", args.join(", "))),
            prop::collection::vec(inner, 4..5).prop_map(|args| format!("dist({}, 'mi')", args.join(", "))),
        ]
    })
}

/// Arbitrary f64s, the awkward ones included.
fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(0.0),
        Just(-0.0),
        -1e3f64..1e3,
    ]
}

fn json_scalar() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        number().prop_map(|n| json!(n)),
        any::<i64>().prop_map(|n| json!(n)),
        ".{0,8}".prop_map(|s| json!(s)),
        any::<bool>().prop_map(|b| json!(b)),
        Just(serde_json::Value::Null),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn compiling_any_text_never_panics(text in ".{0,120}") {
        let _ = compile(&json!({"type": "expression", "score": text}));
        // An error names a column inside the text (or just past its end).
        if let Err(e) = parse(&text, &user_functions()) {
            prop_assert!(e.at >= 1 && e.at <= text.chars().count() + 1, "{} for {:?}", e, text);
        }
    }

    #[test]
    fn compiling_token_soup_never_panics(parts in prop::collection::vec(prop::sample::select(vec![
        "(", ")", ",", "+", "-", "*", "/", "^", "!", "&&", "||", "==", "!=", "<", "<=", ">", ">=", "?", ":",
        "1", "2.5", "1e3", "'s'", "time", "popularity", "custom.x", "ln", "max", "dist", "rand", "boost", " ",
        "reaction_counts.like", "type",
    ]), 0..60)) {
        let text = parts.concat();
        if let Err(e) = parse(&text, &user_functions()) {
            prop_assert!(e.at >= 1 && e.at <= text.chars().count() + 1, "{} for {:?}", e, text);
        }
    }

    #[test]
    fn printing_reads_back_as_the_same_tree(text in expression()) {
        if let Ok(expr) = parse(&text, &user_functions()) {
            let printed = expr.to_string();
            let again = parse(&printed, &user_functions());
            prop_assert_eq!(again.as_ref(), Ok(&expr), "printed: {}", printed);
        }
    }

    #[test]
    fn evaluation_is_total_and_finite(
        text in expression(),
        nums in prop::collection::vec(number(), 10),
        like in any::<i64>(),
        custom in json_scalar(),
        external in json_scalar(),
        kind in ".{0,6}",
        seed in any::<u64>(),
        now in number(),
    ) {
        let config = json!({"type": "expression", "score": text,
            "functions": {"boost": {"base": "decay_exp", "scale": "2h", "offset": "1h", "decay": "0.2"}},
            "defaults": {"popularity": 1, "user_score": "0.5"}});
        let Ok(Some(ranking)) = compile(&config) else { return Ok(()) };
        let counts: BTreeMap<String, i64> = [("like".to_string(), like)].into();
        let custom = json!({"topic": custom.clone(), "a": {"b": custom}});
        let external = json!({"user_score": external});
        let inputs = ActivityInputs {
            time: Some(nums[0]),
            kind: Some(&kind),
            reaction_count: Some(nums[1]),
            reaction_counts: Some(&counts),
            comment_count: Some(nums[2]),
            bookmark_count: Some(nums[3]),
            share_count: Some(nums[4]),
            popularity: if nums[5] > 0.0 { Some(nums[5]) } else { None },
            interest_score: Some(nums[6]),
            preference_score: Some(nums[7]),
            selector_source: Some(&kind),
            custom: custom.as_object(),
            external: external.as_object(),
        };
        let score = ranking.score(&inputs, Env { now: nums[8], seed });
        prop_assert!(score.is_finite(), "{} gave {}", text, score);
        let empty = ActivityInputs::default();
        let env = Env { now, seed };
        prop_assert!(ranking.score(&empty, env).is_finite());
    }
}
