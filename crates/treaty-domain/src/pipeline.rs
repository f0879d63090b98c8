//! The order environments are shown in: a pipeline (test, staging,
//! production) an admin sets, rather than the alphabet.

use std::collections::BTreeSet;

/// What is wrong with `given` as a new order of the `stored` environments
/// (names): each must be named exactly once, and nothing else. Empty when
/// it is a valid order.
pub fn order_problems(stored: &[String], given: &[String]) -> Vec<String> {
    let known: BTreeSet<&str> = stored.iter().map(String::as_str).collect();
    let mut seen = BTreeSet::new();
    let mut unknown = Vec::new();
    let mut twice = Vec::new();
    for name in given {
        if !known.contains(name.as_str()) {
            unknown.push(name.as_str());
        } else if !seen.insert(name.as_str()) {
            twice.push(name.as_str());
        }
    }
    let left_out: Vec<&str> = stored
        .iter()
        .map(String::as_str)
        .filter(|name| !seen.contains(name))
        .collect();
    let mut problems = Vec::new();
    let quoted = |names: &[&str]| {
        names
            .iter()
            .map(|n| format!("'{n}'"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !unknown.is_empty() {
        problems.push(format!("no environment is named {}", quoted(&unknown)));
    }
    if !twice.is_empty() {
        problems.push(format!("named more than once: {}", quoted(&twice)));
    }
    if !left_out.is_empty() {
        problems.push(format!(
            "left out: {} (name every environment once, in the order wanted)",
            quoted(&left_out)
        ));
    }
    problems
}

/// Which way an environment moves in the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// One place earlier.
    Up,
    /// One place later.
    Down,
}

/// `order` with `name` moved one place; unchanged at either end, or when
/// `name` is not in it.
pub fn moved(order: &[String], name: &str, direction: Move) -> Vec<String> {
    let mut order = order.to_vec();
    if let Some(index) = order.iter().position(|n| n == name) {
        match direction {
            Move::Up if index > 0 => order.swap(index, index - 1),
            Move::Down if index + 1 < order.len() => order.swap(index, index + 1),
            _ => {}
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn a_permutation_is_an_order() {
        let stored = names(&["test", "production", "staging"]);
        assert!(order_problems(&stored, &names(&["test", "staging", "production"])).is_empty());
    }

    #[test]
    fn unknown_repeated_and_missing_names_are_each_said() {
        let stored = names(&["test", "staging", "production"]);
        let problems = order_problems(&stored, &names(&["test", "test", "qa"]));
        assert_eq!(
            problems,
            vec![
                "no environment is named 'qa'".to_owned(),
                "named more than once: 'test'".to_owned(),
                "left out: 'staging', 'production' (name every environment once, in the order wanted)"
                    .to_owned(),
            ]
        );
    }

    #[test]
    fn moving_swaps_with_the_neighbour_and_stops_at_the_ends() {
        let order = names(&["test", "staging", "production"]);
        assert_eq!(
            moved(&order, "production", Move::Up),
            names(&["test", "production", "staging"])
        );
        assert_eq!(moved(&order, "test", Move::Up), order);
        assert_eq!(moved(&order, "production", Move::Down), order);
        assert_eq!(
            moved(&order, "test", Move::Down),
            names(&["staging", "test", "production"])
        );
        assert_eq!(moved(&order, "qa", Move::Down), order);
    }
}
