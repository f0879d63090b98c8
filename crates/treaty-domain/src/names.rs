//! Names that come from outside (URLs, request bodies) parsed once into types
//! that cannot be blank, invisible or deceptive.
//!
//! A name is an identity: two pacticipants that look the same must be the
//! same pacticipant. So a name written by a client is refused, with the
//! character and where it is, when it holds a control, bidirectional or
//! invisible character, starts or ends with whitespace, is `.` or `..`
//! (which clients that normalise URLs cannot address), is not in Unicode
//! Normalization Form C (`café` written as `e` + a combining accent), or,
//! for the names people pick and others trust (pacticipants, environments,
//! labels), mixes scripts whose letters look alike (a Greek `Α` in `Αdmin`).
//!
//! These rules apply when a name is written. Names already stored stay
//! readable: lookups take the name as it is (`parse_lookup`), and
//! `treaty doctor` lists stored names that break the rules.

use std::fmt;

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
use unicode_script::{Script, UnicodeScript};
use unicode_security::mixed_script::AugmentedScriptSet;

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("cannot be blank")]
    Blank,
    #[error("contains {0}")]
    Forbidden(Forbidden),
    #[error("is longer than {max} characters")]
    TooLong { max: usize },
    #[error("cannot contain spaces")]
    Whitespace,
    #[error("cannot start or end with whitespace ({character} at position {position}): remove it")]
    SurroundingWhitespace {
        character: CharacterName,
        position: usize,
    },
    #[error("cannot be '.' or '..', which clients that normalise URLs cannot address")]
    DotSegment,
    #[error(
        "is not in Unicode Normalization Form C ({character} at position {position} combines with the character before it): send it composed, as {composed:?}, so that it names one thing however it was typed"
    )]
    NotComposed {
        character: CharacterName,
        position: usize,
        composed: String,
    },
    #[error(
        "mixes {first} and {second} letters ({character} at position {position} is {second}), so it can look like another name: write it in one script"
    )]
    MixedScripts {
        first: &'static str,
        second: &'static str,
        character: CharacterName,
        position: usize,
    },
}

/// A character a name (or a URL, or any single line of text) cannot
/// contain, and where it is: `U+202E RIGHT-TO-LEFT OVERRIDE at position 4`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forbidden {
    pub character: CharacterName,
    /// 1-based, in characters.
    pub position: usize,
    pub kind: ForbiddenKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForbiddenKind {
    Control,
    LineBreak,
    Bidirectional,
    Invisible,
    UnusualSpace,
}

impl fmt::Display for Forbidden {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match self.kind {
            ForbiddenKind::Control => {
                "a control character, which cannot be in a name, a header or a URL"
            }
            ForbiddenKind::LineBreak => "a line break, which cannot be in a name or a URL",
            ForbiddenKind::Bidirectional => {
                "a bidirectional control, which can make text display as other text"
            }
            ForbiddenKind::Invisible => {
                "an invisible character, which makes names that look the same differ"
            }
            ForbiddenKind::UnusualSpace => {
                "a space that looks like a plain space but differs from it: use a plain space"
            }
        };
        write!(f, "{} at position {}, {why}", self.character, self.position)
    }
}

/// A character as people can recognise it in a message: its code point and,
/// for the characters that are refused, its Unicode name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CharacterName(pub char);

impl fmt::Display for CharacterName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.0;
        write!(f, "U+{:04X}", u32::from(c))?;
        match unicode_name(c) {
            Some(name) => write!(f, " {name}"),
            None if c.is_control() || is_invisible(c) || c.is_whitespace() => Ok(()),
            None => write!(f, " '{c}'"),
        }
    }
}

/// The longest name Treaty stores. Far above any real name; it keeps a hostile
/// client from filling indexes with megabyte keys.
pub const MAX_NAME_CHARS: usize = 1000;

/// The first character of `text` that no name, URL or other single line of
/// text Treaty stores may hold: controls, line breaks, bidirectional
/// controls, invisible characters, and spaces other than the plain one.
pub fn forbidden_character(text: &str) -> Option<Forbidden> {
    text.chars().enumerate().find_map(|(index, c)| {
        classify(c).map(|kind| Forbidden {
            character: CharacterName(c),
            position: index + 1,
            kind,
        })
    })
}

fn classify(c: char) -> Option<ForbiddenKind> {
    if c.is_ascii() {
        // The fast path for ordinary names.
        return c.is_ascii_control().then_some(ForbiddenKind::Control);
    }
    if c.is_control() {
        return Some(ForbiddenKind::Control);
    }
    if matches!(c, '\u{2028}' | '\u{2029}') {
        return Some(ForbiddenKind::LineBreak);
    }
    if is_bidi_control(c) {
        return Some(ForbiddenKind::Bidirectional);
    }
    if is_invisible(c) {
        return Some(ForbiddenKind::Invisible);
    }
    if c.general_category() == GeneralCategory::SpaceSeparator {
        return Some(ForbiddenKind::UnusualSpace);
    }
    None
}

/// The explicit directional formatting characters of UAX #9.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Format characters (zero-width spaces and joiners, the byte order mark,
/// soft hyphen, tags, ...) and the other default-ignorable characters a
/// renderer draws as nothing (variation selectors, Hangul fillers, the
/// combining grapheme joiner).
fn is_invisible(c: char) -> bool {
    c.general_category() == GeneralCategory::Format
        || matches!(
            c,
            '\u{034F}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FFA0}'
                | '\u{E0100}'..='\u{E01EF}'
        )
}

fn check_length(raw: &str) -> Result<(), NameError> {
    if raw.trim().is_empty() {
        return Err(NameError::Blank);
    }
    if raw.chars().count() > MAX_NAME_CHARS {
        return Err(NameError::TooLong {
            max: MAX_NAME_CHARS,
        });
    }
    Ok(())
}

/// The rules every name written by a client follows.
fn check(raw: &str, scripts: ScriptRule) -> Result<(), NameError> {
    check_length(raw)?;
    if let Some(found) = forbidden_character(raw) {
        return Err(NameError::Forbidden(found));
    }
    let first = raw.chars().next();
    let last = raw.chars().next_back();
    if let Some(c) = first.filter(|c| c.is_whitespace()) {
        return Err(NameError::SurroundingWhitespace {
            character: CharacterName(c),
            position: 1,
        });
    }
    if let Some(c) = last.filter(|c| c.is_whitespace()) {
        return Err(NameError::SurroundingWhitespace {
            character: CharacterName(c),
            position: raw.chars().count(),
        });
    }
    if raw == "." || raw == ".." {
        return Err(NameError::DotSegment);
    }
    if raw.is_ascii() {
        return Ok(());
    }
    if !unicode_normalization::is_nfc(raw) {
        return Err(not_composed(raw));
    }
    if scripts == ScriptRule::OneScript
        && let Some(mixed) = mixed_scripts(raw)
    {
        return Err(mixed);
    }
    Ok(())
}

fn not_composed(raw: &str) -> NameError {
    let composed: String = raw.nfc().collect();
    // The first character of the input that composition changed: usually
    // the combining mark after the letter it belongs to.
    let (index, c) = raw
        .chars()
        .zip(composed.chars().map(Some).chain(std::iter::repeat(None)))
        .enumerate()
        .find(|(_, (a, b))| Some(*a) != *b)
        .map(|(index, (a, _))| (index, a))
        .unwrap_or((0, raw.chars().next().unwrap_or(' ')));
    let (index, c) = raw
        .chars()
        .enumerate()
        .skip(index)
        .find(|(_, c)| c.general_category_group() == unicode_properties::GeneralCategoryGroup::Mark)
        .unwrap_or((index, c));
    NameError::NotComposed {
        character: CharacterName(c),
        position: index + 1,
        composed,
    }
}

/// Which mix of scripts a name may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScriptRule {
    /// Anything (versions, branches and tags come from git and CI, where
    /// `feature/исправление-API` is ordinary).
    Any,
    /// UTS #39's "moderately restrictive" level: one script, or Latin with
    /// one other that is not Cyrillic or Greek (Latin with Japanese, Chinese,
    /// Korean, Devanagari, ... is fine), since Cyrillic and Greek letters are
    /// the ones that pass for Latin ones.
    OneScript,
}

fn mixed_scripts(raw: &str) -> Option<NameError> {
    let mut all = AugmentedScriptSet::default();
    let mut without_latin = AugmentedScriptSet::default();
    for c in raw.chars() {
        let set = AugmentedScriptSet::for_char(c);
        all.intersect_with(set);
        if !set.base.contains_script(Script::Latin) {
            without_latin.intersect_with(set);
        }
    }
    if !all.is_empty() || without_latin.jpan || without_latin.kore || without_latin.hanb {
        return None;
    }
    if without_latin.base.len() == 1
        && let Some(other) = without_latin.base.iter().next()
        && other.is_recommended()
        && other != Script::Cyrillic
        && other != Script::Greek
    {
        return None;
    }
    // Name the letters that are not of the name's main script.
    let lettered: Vec<(usize, char, Script)> = raw
        .chars()
        .enumerate()
        .filter(|(_, c)| !AugmentedScriptSet::for_char(*c).is_all())
        .map(|(index, c)| (index, c, c.script()))
        .collect();
    let count = |script: Script| lettered.iter().filter(|(_, _, s)| *s == script).count();
    let main = lettered
        .iter()
        .map(|(_, _, s)| *s)
        .max_by_key(|s| (count(*s), *s == Script::Latin))?;
    let (index, c, other) = lettered.iter().find(|(_, _, s)| *s != main)?;
    Some(NameError::MixedScripts {
        first: main.full_name(),
        second: other.full_name(),
        character: CharacterName(*c),
        position: index + 1,
    })
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $scripts:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Parses a name a client writes: every rule of this module.
            pub fn parse(raw: impl Into<String>) -> Result<Self, NameError> {
                let raw = raw.into();
                check(&raw, $scripts)?;
                Ok(Self(raw))
            }

            /// A name to look up, which may have been stored before the
            /// rules: it only has to be something a name could be at all.
            pub fn parse_lookup(raw: impl Into<String>) -> Result<Self, NameError> {
                let raw = raw.into();
                check_length(&raw)?;
                Ok(Self(raw))
            }

            /// Why a stored name would be refused if it were written today
            /// (`treaty doctor`).
            pub fn breaks_rules(stored: &str) -> Option<NameError> {
                Self::parse(stored).err()
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

name_type!(
    /// The name of an application taking part in contracts (consumer or provider).
    PacticipantName,
    ScriptRule::OneScript
);
name_type!(
    /// A version number of a pacticipant: free text, ordered by creation, not semver.
    VersionNumber,
    ScriptRule::Any
);
name_type!(
    /// A tag on a version (`prod`, `main`, ...).
    TagName,
    ScriptRule::Any
);
name_type!(
    /// A branch of a pacticipant's repository.
    BranchName,
    ScriptRule::Any
);
name_type!(
    /// A label on a pacticipant.
    LabelName,
    ScriptRule::OneScript
);

/// The name of an environment: like other names, and with no whitespace, since
/// the Pact Broker's clients pass it on command lines and in URLs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EnvironmentName(String);

impl EnvironmentName {
    pub fn parse(raw: impl Into<String>) -> Result<Self, NameError> {
        let raw = raw.into();
        if let Some(found) = forbidden_character(&raw) {
            return Err(NameError::Forbidden(found));
        }
        check_length(&raw)?;
        if raw.chars().any(char::is_whitespace) {
            return Err(NameError::Whitespace);
        }
        check(&raw, ScriptRule::OneScript)?;
        Ok(Self(raw))
    }

    /// A name to look up, which may have been stored before the rules (but
    /// never with whitespace, which environment names have always refused).
    pub fn parse_lookup(raw: impl Into<String>) -> Result<Self, NameError> {
        let raw = raw.into();
        check_length(&raw)?;
        if raw.chars().any(char::is_whitespace) {
            return Err(NameError::Whitespace);
        }
        Ok(Self(raw))
    }

    /// Why a stored name would be refused if it were written today.
    pub fn breaks_rules(stored: &str) -> Option<NameError> {
        Self::parse(stored).err()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EnvironmentName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The names of the characters the rules refuse, and of a few that show up
/// next to them, as the Unicode Character Database writes them (a control
/// character by its alias).
fn unicode_name(c: char) -> Option<&'static str> {
    const C0: [&str; 32] = [
        "NULL",
        "START OF HEADING",
        "START OF TEXT",
        "END OF TEXT",
        "END OF TRANSMISSION",
        "ENQUIRY",
        "ACKNOWLEDGE",
        "BELL",
        "BACKSPACE",
        "CHARACTER TABULATION",
        "LINE FEED",
        "LINE TABULATION",
        "FORM FEED",
        "CARRIAGE RETURN",
        "SHIFT OUT",
        "SHIFT IN",
        "DATA LINK ESCAPE",
        "DEVICE CONTROL ONE",
        "DEVICE CONTROL TWO",
        "DEVICE CONTROL THREE",
        "DEVICE CONTROL FOUR",
        "NEGATIVE ACKNOWLEDGE",
        "SYNCHRONOUS IDLE",
        "END OF TRANSMISSION BLOCK",
        "CANCEL",
        "END OF MEDIUM",
        "SUBSTITUTE",
        "ESCAPE",
        "INFORMATION SEPARATOR FOUR",
        "INFORMATION SEPARATOR THREE",
        "INFORMATION SEPARATOR TWO",
        "INFORMATION SEPARATOR ONE",
    ];
    const SPACES: [&str; 11] = [
        "EN QUAD",
        "EM QUAD",
        "EN SPACE",
        "EM SPACE",
        "THREE-PER-EM SPACE",
        "FOUR-PER-EM SPACE",
        "SIX-PER-EM SPACE",
        "FIGURE SPACE",
        "PUNCTUATION SPACE",
        "THIN SPACE",
        "HAIR SPACE",
    ];
    const VARIATION_SELECTORS: [&str; 16] = [
        "VARIATION SELECTOR-1",
        "VARIATION SELECTOR-2",
        "VARIATION SELECTOR-3",
        "VARIATION SELECTOR-4",
        "VARIATION SELECTOR-5",
        "VARIATION SELECTOR-6",
        "VARIATION SELECTOR-7",
        "VARIATION SELECTOR-8",
        "VARIATION SELECTOR-9",
        "VARIATION SELECTOR-10",
        "VARIATION SELECTOR-11",
        "VARIATION SELECTOR-12",
        "VARIATION SELECTOR-13",
        "VARIATION SELECTOR-14",
        "VARIATION SELECTOR-15",
        "VARIATION SELECTOR-16",
    ];
    let code = u32::from(c);
    Some(match c {
        '\u{0}'..='\u{1F}' => C0[code as usize],
        ' ' => "SPACE",
        '\u{7F}' => "DELETE",
        '\u{85}' => "NEXT LINE",
        '\u{80}'..='\u{9F}' => "(a C1 control)",
        '\u{A0}' => "NO-BREAK SPACE",
        '\u{AD}' => "SOFT HYPHEN",
        '\u{034F}' => "COMBINING GRAPHEME JOINER",
        '\u{0301}' => "COMBINING ACUTE ACCENT",
        '\u{0300}' => "COMBINING GRAVE ACCENT",
        '\u{0308}' => "COMBINING DIAERESIS",
        '\u{061C}' => "ARABIC LETTER MARK",
        '\u{115F}' => "HANGUL CHOSEONG FILLER",
        '\u{1160}' => "HANGUL JUNGSEONG FILLER",
        '\u{1680}' => "OGHAM SPACE MARK",
        '\u{180E}' => "MONGOLIAN VOWEL SEPARATOR",
        '\u{2000}'..='\u{200A}' => SPACES[(code - 0x2000) as usize],
        '\u{200B}' => "ZERO WIDTH SPACE",
        '\u{200C}' => "ZERO WIDTH NON-JOINER",
        '\u{200D}' => "ZERO WIDTH JOINER",
        '\u{200E}' => "LEFT-TO-RIGHT MARK",
        '\u{200F}' => "RIGHT-TO-LEFT MARK",
        '\u{2028}' => "LINE SEPARATOR",
        '\u{2029}' => "PARAGRAPH SEPARATOR",
        '\u{202A}' => "LEFT-TO-RIGHT EMBEDDING",
        '\u{202B}' => "RIGHT-TO-LEFT EMBEDDING",
        '\u{202C}' => "POP DIRECTIONAL FORMATTING",
        '\u{202D}' => "LEFT-TO-RIGHT OVERRIDE",
        '\u{202E}' => "RIGHT-TO-LEFT OVERRIDE",
        '\u{202F}' => "NARROW NO-BREAK SPACE",
        '\u{205F}' => "MEDIUM MATHEMATICAL SPACE",
        '\u{2060}' => "WORD JOINER",
        '\u{2061}' => "FUNCTION APPLICATION",
        '\u{2062}' => "INVISIBLE TIMES",
        '\u{2063}' => "INVISIBLE SEPARATOR",
        '\u{2064}' => "INVISIBLE PLUS",
        '\u{2066}' => "LEFT-TO-RIGHT ISOLATE",
        '\u{2067}' => "RIGHT-TO-LEFT ISOLATE",
        '\u{2068}' => "FIRST STRONG ISOLATE",
        '\u{2069}' => "POP DIRECTIONAL ISOLATE",
        '\u{3000}' => "IDEOGRAPHIC SPACE",
        '\u{3164}' => "HANGUL FILLER",
        '\u{FE00}'..='\u{FE0F}' => VARIATION_SELECTORS[(code - 0xFE00) as usize],
        '\u{FEFF}' => "ZERO WIDTH NO-BREAK SPACE (byte order mark)",
        '\u{FFA0}' => "HALFWIDTH HANGUL FILLER",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(error: NameError) -> String {
        error.to_string()
    }

    #[test]
    fn the_names_official_clients_use_still_pass() {
        for raw in [
            "Foo",
            "Foo Bar",
            "pactflow-example-consumer",
            "pactflow-example-provider-restassured",
            "Zürich Ørders",
            "サービス",
            "サービスAPI",
            "Αθήνα",
            "Москва",
            "payments_api.v2",
        ] {
            assert_eq!(PacticipantName::parse(raw).unwrap().as_str(), raw);
        }
        for raw in [
            "1.0.0",
            "1.0.0+abc",
            "1.0.0-rc.1+build.5",
            "3e1f9a7c2b",
            "1.0-β",
        ] {
            assert!(VersionNumber::parse(raw).is_ok(), "{raw}");
        }
        for raw in [
            "feat/x",
            "main",
            "release/2024.1",
            "feature/исправление-API",
            "dependabot/npm_and_yarn/lodash-4.17.21",
        ] {
            assert!(BranchName::parse(raw).is_ok(), "{raw}");
        }
        for raw in ["prod", "v1.2.3", "deployed-to-prod"] {
            assert!(TagName::parse(raw).is_ok(), "{raw}");
        }
        for raw in ["production", "test", "eu-west-1"] {
            assert!(EnvironmentName::parse(raw).is_ok(), "{raw}");
        }
    }

    #[test]
    fn environment_names_have_no_spaces() {
        assert!(EnvironmentName::parse("production").is_ok());
        assert_eq!(EnvironmentName::parse("my env"), Err(NameError::Whitespace));
    }

    #[test]
    fn refuses_blank_and_control_characters() {
        assert_eq!(PacticipantName::parse(""), Err(NameError::Blank));
        assert_eq!(VersionNumber::parse("  "), Err(NameError::Blank));
        assert_eq!(
            message(TagName::parse("a\nb").unwrap_err()),
            "contains U+000A LINE FEED at position 2, a control character, which cannot be in a name, a header or a URL"
        );
        assert_eq!(
            BranchName::parse("x".repeat(MAX_NAME_CHARS + 1)),
            Err(NameError::TooLong {
                max: MAX_NAME_CHARS
            })
        );
    }

    #[test]
    fn invisible_and_bidirectional_characters_are_named_where_they_are() {
        let cases = [
            (
                "abc\u{202E}def",
                "U+202E RIGHT-TO-LEFT OVERRIDE at position 4",
            ),
            ("Ad\u{200B}min", "U+200B ZERO WIDTH SPACE at position 3"),
            (
                "\u{FEFF}Admin",
                "U+FEFF ZERO WIDTH NO-BREAK SPACE (byte order mark) at position 1",
            ),
            (
                "Ad\u{2066}min",
                "U+2066 LEFT-TO-RIGHT ISOLATE at position 3",
            ),
            ("Ad\u{00AD}min", "U+00AD SOFT HYPHEN at position 3"),
            ("Ad\u{2028}min", "U+2028 LINE SEPARATOR at position 3"),
            ("Foo\u{00A0}Bar", "U+00A0 NO-BREAK SPACE at position 4"),
            (
                "Admin\u{FE0F}",
                "U+FE0F VARIATION SELECTOR-16 at position 6",
            ),
            ("Ad\u{3164}min", "U+3164 HANGUL FILLER at position 3"),
            ("Ad\u{E0041}min", "U+E0041 at position 3"),
        ];
        for (raw, expected) in cases {
            let error = message(PacticipantName::parse(raw).unwrap_err());
            assert!(error.contains(expected), "{raw:?}: {error}");
        }
    }

    #[test]
    fn surrounding_whitespace_and_dot_segments_are_refused() {
        assert_eq!(
            message(PacticipantName::parse(" Foo").unwrap_err()),
            "cannot start or end with whitespace (U+0020 SPACE at position 1): remove it"
        );
        assert!(matches!(
            BranchName::parse("main "),
            Err(NameError::SurroundingWhitespace { position: 5, .. })
        ));
        for raw in [".", ".."] {
            assert_eq!(VersionNumber::parse(raw), Err(NameError::DotSegment));
        }
        assert!(VersionNumber::parse("...").is_ok());
        assert!(PacticipantName::parse(".hidden").is_ok());
    }

    #[test]
    fn decomposed_names_are_refused_with_their_composed_form() {
        let decomposed = "cafe\u{301}";
        let error = PacticipantName::parse(decomposed).unwrap_err();
        assert_eq!(
            error,
            NameError::NotComposed {
                character: CharacterName('\u{301}'),
                position: 5,
                composed: "caf\u{e9}".to_owned(),
            }
        );
        assert!(message(error).contains("U+0301 COMBINING ACUTE ACCENT at position 5"));
        assert!(PacticipantName::parse("caf\u{e9}").is_ok());
    }

    #[test]
    fn names_that_mix_lookalike_scripts_are_refused() {
        let error = PacticipantName::parse("\u{391}dmin").unwrap_err();
        assert_eq!(
            message(error),
            "mixes Latin and Greek letters (U+0391 'Α' at position 1 is Greek), so it can look like another name: write it in one script"
        );
        assert!(EnvironmentName::parse("pr\u{43e}duction").is_err());
        assert!(LabelName::parse("t\u{435}am-a").is_err());
        // Versions, branches and tags come from git: mixing is theirs to do.
        assert!(TagName::parse("\u{391}dmin").is_ok());
    }

    #[test]
    fn lookups_take_stored_names_as_they_are() {
        for stored in [" Foo", "a\u{202E}b", "cafe\u{301}", "..", "\u{391}dmin"] {
            assert_eq!(
                PacticipantName::parse_lookup(stored).unwrap().as_str(),
                stored
            );
            assert!(
                PacticipantName::breaks_rules(stored).is_some(),
                "{stored:?}"
            );
        }
        assert_eq!(PacticipantName::parse_lookup(" "), Err(NameError::Blank));
        assert_eq!(PacticipantName::breaks_rules("Foo"), None);
    }

    #[test]
    fn urls_and_other_lines_of_text_are_checked_for_the_same_characters() {
        assert_eq!(forbidden_character("https://ci.example/build/1"), None);
        let found = forbidden_character("https://ci/1\r\nX-Injected: 1").unwrap();
        assert_eq!(found.position, 13);
        assert_eq!(found.kind, ForbiddenKind::Control);
        assert!(
            found
                .to_string()
                .starts_with("U+000D CARRIAGE RETURN at position 13")
        );
    }
}
