//! Badges, with the Pact Broker's words and colours (its `Badges::Service`):
//! a pact's verification status, can-i-deploy from a tag or branch to a tag
//! or environment, can-i-merge, and the error badges. Each is a shields.io
//! URL the server redirects to, as the Pact Broker does, or an SVG Treaty
//! draws itself in the shape of the Pact Broker's static badges (where
//! there is no internet).

use std::fmt::Write as _;

/// A badge's right-hand colour, as shields.io names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    BrightGreen,
    Red,
    Orange,
    LightGrey,
}

impl Colour {
    pub fn name(self) -> &'static str {
        match self {
            Self::BrightGreen => "brightgreen",
            Self::Red => "red",
            Self::Orange => "orange",
            Self::LightGrey => "lightgrey",
        }
    }

    fn hex(self) -> &'static str {
        match self {
            Self::BrightGreen => "#4c1",
            Self::Red => "#e05d44",
            Self::Orange => "#fe7d37",
            Self::LightGrey => "#9f9f9f",
        }
    }
}

/// Two texts and a colour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Badge {
    pub left: String,
    pub right: String,
    pub colour: Colour,
}

/// What a pact badge says of the latest pact of a pair: the Pact Broker's
/// "pseudo branch" status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PactStatus {
    /// Its latest verification succeeded, on this very content.
    Verified,
    /// Its latest verification succeeded on an earlier content.
    Changed,
    Failed,
    /// Never verified, or no such pact.
    Unknown,
}

impl PactStatus {
    /// From the latest pact's content hash and the latest verification
    /// (the content it verified, and whether it succeeded).
    pub fn of(pact_sha: Option<&str>, verification: Option<(&str, bool)>) -> Self {
        match (pact_sha, verification) {
            (Some(pact), Some((verified, true))) if pact == verified => Self::Verified,
            (Some(_), Some((_, true))) => Self::Changed,
            (Some(_), Some((_, false))) => Self::Failed,
            _ => Self::Unknown,
        }
    }

    fn words(self) -> (&'static str, Colour) {
        match self {
            Self::Verified => ("verified", Colour::BrightGreen),
            Self::Changed => ("changed", Colour::Orange),
            Self::Failed => ("failed", Colour::Red),
            Self::Unknown => ("unknown", Colour::LightGrey),
        }
    }
}

/// Which pacticipant names a pact badge shows (its `label` parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PactLabel {
    Both,
    Consumer,
    Provider,
}

impl PactLabel {
    /// `consumer` or `provider`, in any case; anything else shows both.
    pub fn parse(label: Option<&str>) -> Self {
        match label.map(str::to_lowercase).as_deref() {
            Some("consumer") => Self::Consumer,
            Some("provider") => Self::Provider,
            _ => Self::Both,
        }
    }
}

/// One side of a pact badge: a pacticipant and the tag its version was chosen by.
#[derive(Debug, Clone, Copy)]
pub struct Side<'a> {
    pub name: &'a str,
    pub tag: Option<&'a str>,
}

impl Badge {
    /// A pact's badge: `pair` is `None` when there is no such pact.
    /// `initials` shortens `foo-bar` and `FooBar` to `fb`.
    pub fn pact(
        pair: Option<(Side<'_>, Side<'_>)>,
        label: PactLabel,
        initials: bool,
        status: PactStatus,
    ) -> Self {
        let left = match pair {
            None => "pact not found".to_owned(),
            Some((consumer, provider)) => {
                let consumer = prepare_name(consumer, initials);
                let provider = prepare_name(provider, initials);
                let title = match label {
                    PactLabel::Consumer => consumer,
                    PactLabel::Provider => provider,
                    PactLabel::Both => format!("{consumer}/{provider}"),
                };
                format!("{title} pact").to_lowercase()
            }
        };
        let (right, colour) = status.words();
        Self {
            left,
            right: right.to_owned(),
            colour,
        }
    }

    /// can-i-deploy from a tag or branch to a tag or environment: green for
    /// "yes", red otherwise (a "no", and an answer not known yet, alike).
    pub fn can_i_deploy(
        from: &str,
        to: &str,
        label: Option<&str>,
        deployable: Option<bool>,
    ) -> Self {
        Self {
            left: label.unwrap_or("can-i-deploy").to_owned(),
            right: format!("{from} to {to}"),
            colour: if deployable == Some(true) {
                Colour::BrightGreen
            } else {
                Colour::Red
            },
        }
    }

    /// Whether the head of a pacticipant's main branch works with the heads
    /// of its partners' main branches.
    pub fn can_i_merge(deployable: Option<bool>) -> Self {
        let (right, colour) = match deployable {
            None => ("unknown", Colour::LightGrey),
            Some(true) => ("success", Colour::BrightGreen),
            Some(false) => ("failed", Colour::Red),
        };
        Self {
            left: "can-i-merge".to_owned(),
            right: right.to_owned(),
            colour,
        }
    }

    /// What cannot be shown, such as `pacticipant` / `not found`.
    pub fn error(left: &str, right: &str) -> Self {
        Self {
            left: left.to_owned(),
            right: right.to_owned(),
            colour: Colour::LightGrey,
        }
    }

    /// The shields.io URL of this badge under `base` (such as
    /// `https://img.shields.io`), written as the Pact Broker writes it.
    pub fn shields_url(&self, base: &str) -> String {
        format!(
            "{}/badge/{}-{}-{}.svg",
            base.trim_end_matches('/'),
            escape(&self.left),
            escape(&self.right),
            self.colour.name()
        )
    }

    /// The badge as an SVG, in the flat shape of the Pact Broker's static
    /// badges, with a title and label for screen readers.
    pub fn svg(&self) -> String {
        let left_width = text_width(&self.left) + 10;
        let right_width = text_width(&self.right) + 10;
        let width = left_width + right_width;
        let left = xml_escape(&self.left);
        let right = xml_escape(&self.right);
        let colour = self.colour.hex();
        let mut svg = String::new();
        let _ = write!(
            svg,
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" aria-label="{left}: {right}"><title>{left}: {right}</title><linearGradient id="b" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient><clipPath id="a"><rect width="{width}" height="20" rx="3" fill="#fff"/></clipPath><g clip-path="url(#a)"><path fill="#555" d="M0 0h{left_width}v20H0z"/><path fill="{colour}" d="M{left_width} 0h{right_width}v20H{left_width}z"/><path fill="url(#b)" d="M0 0h{width}v20H0z"/></g><g fill="#fff" text-anchor="middle" font-family="DejaVu Sans,Verdana,Geneva,sans-serif" font-size="11">"##
        );
        for (x, text) in [
            (f64::from(left_width) / 2.0, &left),
            (f64::from(left_width) + f64::from(right_width) / 2.0, &right),
        ] {
            let _ = write!(
                svg,
                r##"<text x="{x}" y="15" fill="#010101" fill-opacity=".3">{text}</text><text x="{x}" y="14">{text}</text>"##
            );
        }
        svg.push_str("</g></svg>");
        svg
    }
}

/// A name as a pact badge shows it: lower case, or its initials, with the
/// tag its version was chosen by.
fn prepare_name(side: Side<'_>, initials: bool) -> String {
    let suffix = side.tag.map(|t| format!(" ({t})")).unwrap_or_default();
    if initials {
        let mut parts: Vec<String> = side
            .name
            .split(|c: char| c.is_whitespace() || c == '_' || c == '-')
            .map(str::to_owned)
            .collect();
        // Ruby's `split` drops trailing empty parts.
        while parts.last().is_some_and(String::is_empty) {
            parts.pop();
        }
        if parts.len() == 1 {
            parts = split_camel_case(side.name);
        }
        if parts.len() > 1 {
            let letters: String = parts.iter().filter_map(|p| p.chars().next()).collect();
            return letters.to_lowercase() + &suffix;
        }
    }
    side.name.to_lowercase() + &suffix
}

/// `FooBar` → `Foo`, `Bar`; `HTTPServer` → `HTTP`, `Server`; dashes split too.
fn split_camel_case(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut parts = vec![String::new()];
    for (i, c) in chars.iter().enumerate() {
        let previous = i.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(i + 1);
        let starts_word = c.is_ascii_uppercase()
            && previous.is_some_and(|p| {
                p.is_ascii_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_ascii_uppercase() && next.is_some_and(char::is_ascii_lowercase))
            });
        if starts_word || *c == '-' || *c == '_' {
            parts.push(String::new());
        }
        if *c != '-'
            && *c != '_'
            && let Some(last) = parts.last_mut()
        {
            last.push(*c);
        }
    }
    while parts.last().is_some_and(String::is_empty) {
        parts.pop();
    }
    parts
}

/// shields.io's escaping of a badge text (a dash or underscore doubled),
/// then URL-encoded as Ruby's `ERB::Util.url_encode` does.
fn escape(text: &str) -> String {
    let doubled = text.replace('-', "--").replace('_', "__");
    let mut out = String::new();
    for byte in doubled.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// About how wide a text is in 11 px Verdana, in whole pixels: the widths
/// shields.io measures with, to a tenth of a pixel for the common letters.
fn text_width(text: &str) -> u32 {
    let tenths: u32 = text
        .chars()
        .map(|c| match c {
            'i' | 'l' | 'j' | '\'' | '|' | '.' | ',' | ':' | ';' | '!' => 30,
            ' ' | 'f' | 'r' | 't' | '(' | ')' | '[' | ']' | '/' | '-' => 42,
            'I' => 42,
            'c' | 's' | 'z' | 'J' => 57,
            'm' | 'M' | 'W' => 107,
            'w' => 90,
            c if c.is_ascii_uppercase() => 75,
            c if c.is_ascii_digit() => 70,
            c if c.is_ascii() => 66,
            _ => 80,
        })
        .sum();
    tenths.div_ceil(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(name: &str) -> Side<'_> {
        Side { name, tag: None }
    }

    #[test]
    fn urls_are_the_pact_brokers() {
        let pair = Some((side("Foo"), side("Bar")));
        assert_eq!(
            Badge::pact(pair, PactLabel::Both, false, PactStatus::Verified)
                .shields_url("https://img.shields.io"),
            "https://img.shields.io/badge/foo%2Fbar%20pact-verified-brightgreen.svg"
        );
        let tagged = Some((
            Side {
                name: "Foo",
                tag: Some("prod"),
            },
            Side {
                name: "Bar",
                tag: Some("prod"),
            },
        ));
        assert_eq!(
            Badge::pact(tagged, PactLabel::Both, false, PactStatus::Failed)
                .shields_url("https://img.shields.io/"),
            "https://img.shields.io/badge/foo%20%28prod%29%2Fbar%20%28prod%29%20pact-failed-red.svg"
        );
        assert_eq!(
            Badge::pact(None, PactLabel::Both, false, PactStatus::Unknown)
                .shields_url("https://img.shields.io"),
            "https://img.shields.io/badge/pact%20not%20found-unknown-lightgrey.svg"
        );
        assert_eq!(
            Badge::can_i_deploy("dev", "prod", None, None).shields_url("https://img.shields.io"),
            "https://img.shields.io/badge/can--i--deploy-dev%20to%20prod-red.svg"
        );
        assert_eq!(
            Badge::can_i_merge(Some(true)).shields_url("https://img.shields.io"),
            "https://img.shields.io/badge/can--i--merge-success-brightgreen.svg"
        );
        assert_eq!(
            Badge::error("main branch version", "not found").shields_url("https://s"),
            "https://s/badge/main%20branch%20version-not%20found-lightgrey.svg"
        );
    }

    #[test]
    fn labels_and_initials_as_the_pact_broker_writes_them() {
        let pair = || Some((side("my_consumer-app"), side("HTTPServerThing")));
        let left = |label, initials| Badge::pact(pair(), label, initials, PactStatus::Unknown).left;
        assert_eq!(left(PactLabel::Both, true), "mca/hst pact");
        assert_eq!(left(PactLabel::Consumer, false), "my_consumer-app pact");
        assert_eq!(left(PactLabel::Provider, false), "httpserverthing pact");
        assert_eq!(PactLabel::parse(Some("CONSUMER")), PactLabel::Consumer);
        assert_eq!(PactLabel::parse(Some("other")), PactLabel::Both);
        assert_eq!(split_camel_case("FooBar2Baz"), ["Foo", "Bar2", "Baz"]);
    }

    #[test]
    fn a_pacts_status_follows_its_latest_verification() {
        assert_eq!(
            PactStatus::of(Some("a"), Some(("a", true))),
            PactStatus::Verified
        );
        assert_eq!(
            PactStatus::of(Some("b"), Some(("a", true))),
            PactStatus::Changed
        );
        assert_eq!(
            PactStatus::of(Some("a"), Some(("a", false))),
            PactStatus::Failed
        );
        assert_eq!(PactStatus::of(Some("a"), None), PactStatus::Unknown);
        assert_eq!(PactStatus::of(None, None), PactStatus::Unknown);
    }

    #[test]
    fn a_drawn_badge_says_both_texts_and_escapes_them() {
        let svg = Badge::can_i_deploy("<main>", "prod", None, Some(false)).svg();
        assert!(
            svg.contains("<title>can-i-deploy: &lt;main&gt; to prod</title>"),
            "{svg}"
        );
        assert!(svg.contains("#e05d44"), "{svg}");
        assert!(!svg.contains("<main>"), "{svg}");
    }
}
