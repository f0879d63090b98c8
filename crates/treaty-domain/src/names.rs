//! Names that come from outside (URLs, request bodies) parsed once into types
//! that cannot be blank or carry control characters.

use std::fmt;

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("cannot be blank")]
    Blank,
    #[error("cannot contain a newline, tab or other control character")]
    ControlCharacter,
    #[error("is longer than {max} characters")]
    TooLong { max: usize },
    #[error("cannot contain spaces")]
    Whitespace,
}

/// The longest name Treaty stores. Far above any real name; it keeps a hostile
/// client from filling indexes with megabyte keys.
pub const MAX_NAME_CHARS: usize = 1000;

fn check(raw: &str) -> Result<(), NameError> {
    if raw.trim().is_empty() {
        return Err(NameError::Blank);
    }
    if raw.chars().any(char::is_control) {
        return Err(NameError::ControlCharacter);
    }
    if raw.chars().count() > MAX_NAME_CHARS {
        return Err(NameError::TooLong {
            max: MAX_NAME_CHARS,
        });
    }
    Ok(())
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Parses a name from outside input.
            pub fn parse(raw: impl Into<String>) -> Result<Self, NameError> {
                let raw = raw.into();
                check(&raw)?;
                Ok(Self(raw))
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
    PacticipantName
);
name_type!(
    /// A version number of a pacticipant: free text, ordered by creation, not semver.
    VersionNumber
);
name_type!(
    /// A tag on a version (`prod`, `main`, ...).
    TagName
);
name_type!(
    /// A branch of a pacticipant's repository.
    BranchName
);
name_type!(
    /// A label on a pacticipant.
    LabelName
);

/// The name of an environment: like other names, and with no whitespace, since
/// the Pact Broker's clients pass it on command lines and in URLs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EnvironmentName(String);

impl EnvironmentName {
    pub fn parse(raw: impl Into<String>) -> Result<Self, NameError> {
        let raw = raw.into();
        check(&raw)?;
        if raw.chars().any(char::is_whitespace) {
            return Err(NameError::Whitespace);
        }
        Ok(Self(raw))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_spaces_slashes_dots_and_non_ascii() {
        for raw in ["Foo Bar", "feat/x", "1.2.3", "Zürich Ørders", "サービス"] {
            assert_eq!(PacticipantName::parse(raw).unwrap().as_str(), raw);
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
        assert_eq!(TagName::parse("a\nb"), Err(NameError::ControlCharacter));
        assert_eq!(
            BranchName::parse("x".repeat(MAX_NAME_CHARS + 1)),
            Err(NameError::TooLong {
                max: MAX_NAME_CHARS
            })
        );
    }
}
