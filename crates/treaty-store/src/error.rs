use thiserror::Error;

pub type StoreResult<T> = Result<T, StoreError>;

/// What can go wrong in storage, in terms the HTTP layer can answer.
#[derive(Debug, Error)]
pub enum StoreError {
    /// A named thing does not exist (the message names it).
    #[error("{0}")]
    NotFound(String),
    /// The write contradicts what is stored (the message says how).
    #[error("{0}")]
    Conflict(String),
    /// A consumer version tried to publish different content for a provider.
    #[error(
        "Cannot change the content of the pact for {consumer} version {version} and provider {provider}, as race conditions will cause unreliable results for can-i-deploy. Each pact must be published with a unique consumer version number. Some Pact libraries generate random data when a concrete value for a type matcher is not specified, and this can cause the contract to mutate - ensure you have given example values for all type matchers. For more information see https://docs.pact.io/go/versioning"
    )]
    PactContentConflict {
        consumer: String,
        version: String,
        provider: String,
    },
    #[error("{0}")]
    Unsupported(String),
    /// Text the database cannot hold (PostgreSQL refuses NUL characters):
    /// the client sent it, so the answer is a 4xx.
    #[error("{0}")]
    UnstorableText(String),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// SQLite's blocking readers (see `read.rs`).
    #[error("database error: {0}")]
    SqliteRead(#[from] rusqlite::Error),
    #[error("migration error: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("stored data could not be read: {0}")]
    Corrupt(String),
    /// The batch of writes this write was part of did not commit: nothing
    /// of it was kept (a full disk, an I/O error).
    #[error("the write was not committed: {0}")]
    NotCommitted(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        // 22021: character_not_in_repertoire; 22P05: untranslatable_character.
        let code = error
            .as_database_error()
            .and_then(|e| e.code())
            .map(|c| c.into_owned());
        match code.as_deref() {
            Some("22021" | "22P05") => Self::UnstorableText(
                "the request carries a character that cannot be stored (a NUL byte, or invalid UTF-8): remove it".to_owned(),
            ),
            _ => Self::Database(error),
        }
    }
}
