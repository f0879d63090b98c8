//! Display names generated from names, as the Pact Broker does when none is given:
//! `foo-bar` becomes `Foo Bar`, `FooBar` becomes `Foo Bar`.

/// Splits on `-`, `_`, `.`, spaces and camelCase boundaries, and capitalises each word.
pub fn generate(name: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut previous: Option<char> = None;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.' | ' ') {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            previous = None;
            continue;
        }
        let camel_boundary =
            previous.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit()) && c.is_uppercase();
        if camel_boundary && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        current.push(c);
        previous = Some(c);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
        .iter()
        .map(|w| {
            let mut chars = w.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::generate;

    #[test]
    fn generates_words_from_separators_and_camel_case() {
        assert_eq!(generate("foo-bar"), "Foo Bar");
        assert_eq!(generate("test"), "Test");
        assert_eq!(generate("FooBar"), "Foo Bar");
        assert_eq!(generate("my_service.api"), "My Service Api");
        assert_eq!(generate("Pricing Service"), "Pricing Service");
        assert_eq!(generate("ABC"), "ABC");
    }
}
