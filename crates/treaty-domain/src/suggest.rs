//! "Did you mean ...?": the known names closest to a mistyped one, so a
//! refusal can say what was probably meant.

/// Up to three of `known` within a few edits of `given`, closest first
/// (ties keep the order of `known`, so callers list the likelier first).
pub fn closest<'a>(given: &str, known: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    // Close enough to be a slip of the keyboard: an edit per three characters.
    let limit = (given.chars().count() / 3).max(1);
    let lower = given.to_lowercase();
    let mut near: Vec<(usize, usize, &str)> = known
        .into_iter()
        .enumerate()
        .filter(|(_, name)| *name != given)
        .map(|(order, name)| {
            let distance = strsim::damerau_levenshtein(&lower, &name.to_lowercase());
            (distance, order, name)
        })
        .filter(|(distance, _, _)| *distance <= limit)
        .collect();
    near.sort_unstable();
    near.into_iter()
        .take(3)
        .map(|(_, _, name)| name.to_owned())
        .collect()
}

/// `" Did you mean 'web'?"` (with a leading space), or nothing.
pub fn did_you_mean(suggestions: &[String]) -> String {
    match suggestions {
        [] => String::new(),
        [one] => format!(" Did you mean '{one}'?"),
        more => format!(
            " Did you mean {}?",
            more.iter()
                .map(|s| format!("'{s}'"))
                .collect::<Vec<_>>()
                .join(" or ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transposition_or_a_typo_finds_the_name() {
        assert_eq!(closest("wbe", ["web", "payments", "api"]), ["web"]);
        assert_eq!(
            closest("9.9.9", ["1.0.0", "1.9.9", "9.9.8", "9.9.9"]),
            ["1.9.9", "9.9.8"]
        );
        assert_eq!(closest("Producton", ["test", "production"]), ["production"]);
        assert!(closest("orders", ["web", "payments"]).is_empty());
        assert_eq!(
            did_you_mean(&["a".into(), "b".into()]),
            " Did you mean 'a' or 'b'?"
        );
        assert_eq!(did_you_mean(&[]), "");
    }
}
