//! Which key seals an export's webhook passwords and secrets.
//!
//! They stay sealed in the file. `treaty export` checks that each opens with
//! the server's key (`--secret-key`, or the key the database generated for
//! itself, which is in its settings and so in the export) and writes that
//! key's fingerprint after the tables, never the key.
//! `treaty import` refuses a file whose key is not the one given, saying
//! so, unless it can re-seal: with the old key given as
//! `--previous-secret-key`, or when the old key is the generated one the
//! file carries.
//!
//! The same key seals the audit chain (HMAC): an import under a new key
//! checks each entry with the key that sealed it and seals the chain again
//! with the new one, so `treaty audit verify` holds after a key rotation
//! (heads saved before it no longer match: save a new one).

use async_trait::async_trait;
use serde_json::{Value, json};
use treaty_domain::access::{AuditEntry, AuditKey, audit_hash};
use treaty_server::secrets::{GENERATED_KEY_SETTING, Sealer};
use treaty_store::export_file::{Item, JsonReader, unknown_member};
use treaty_store::{DumpRow, DumpSink, DumpSource, StoreError, StoreResult};

/// The member after the tables that names the key.
pub const MEMBER: &str = "secretKey";

/// The fields of a webhook's stored request that hold sealed values.
const SEALED_FIELDS: [&str; 2] = ["password", "secret"];

#[derive(Clone)]
struct Key {
    sealer: Sealer,
    audit: AuditKey,
    fingerprint: String,
    origin: Origin,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// `--secret-key`, kept outside the database.
    Configured,
    /// Generated once and kept in the database's settings.
    Generated,
    /// `--previous-secret-key`.
    Previous,
}

impl Key {
    fn new(passphrase: &str, origin: Origin) -> Self {
        Self {
            sealer: Sealer::from_passphrase(passphrase),
            audit: AuditKey::derive(passphrase),
            fingerprint: Sealer::fingerprint(passphrase),
            origin,
        }
    }

    fn described(&self) -> String {
        let whose = match self.origin {
            Origin::Configured => "the --secret-key given",
            Origin::Generated => "the database's generated key",
            Origin::Previous => "the --previous-secret-key given",
        };
        format!("{whose} (fingerprint {})", self.fingerprint)
    }
}

fn refused(message: String) -> StoreError {
    StoreError::Conflict(message)
}

fn generated_key(row: &DumpRow) -> Option<&str> {
    (row.get("name")?.as_str()? == GENERATED_KEY_SETTING)
        .then(|| row.get("value")?.as_str())
        .flatten()
}

/// The webhook's uuid and its stored request, parsed.
fn webhook_request(row: &DumpRow) -> (String, Option<Value>) {
    let uuid = row
        .get("uuid")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_owned();
    let request = row
        .get("request")
        .and_then(Value::as_str)
        .and_then(|text| serde_json::from_str(text).ok());
    (uuid, request)
}

fn sealed_values(request: &Value) -> impl Iterator<Item = (&'static str, &str)> {
    SEALED_FIELDS.into_iter().filter_map(|field| {
        request
            .get(field)
            .and_then(Value::as_str)
            .filter(|value| Sealer::is_sealed(value))
            .map(|value| (field, value))
    })
}

/// Passes an export through, checking every sealed value opens with the key
/// the fingerprint will name.
pub struct CheckedExport<S> {
    inner: S,
    configured: Option<Key>,
    generated: Option<Key>,
    sealed: u64,
}

impl<S: DumpSink> CheckedExport<S> {
    pub fn new(inner: S, secret_key: Option<&str>) -> Self {
        Self {
            inner,
            configured: secret_key.map(|key| Key::new(key, Origin::Configured)),
            generated: None,
            sealed: 0,
        }
    }

    /// The key that seals this database's secrets: the one the server runs with.
    fn key(&self) -> Option<&Key> {
        self.configured.as_ref().or(self.generated.as_ref())
    }

    /// The member naming the key, and the sink.
    pub fn finish(self) -> ((&'static str, Value), S) {
        let named = self.key().map_or(Value::Null, |key| {
            json!({
                "fingerprint": key.fingerprint,
                "origin": match key.origin {
                    Origin::Generated => "generated",
                    _ => "secret-key",
                },
                "sealedValues": self.sealed,
            })
        });
        ((MEMBER, named), self.inner)
    }
}

impl<S: DumpSink> DumpSink for CheckedExport<S> {
    fn table(&mut self, name: &str) -> StoreResult<()> {
        self.inner.table(name)
    }

    fn row(&mut self, table: &str, row: &DumpRow) -> StoreResult<()> {
        if table == "settings"
            && let Some(key) = generated_key(row)
        {
            self.generated = Some(Key::new(key, Origin::Generated));
        }
        if table == "webhooks"
            && let (uuid, Some(request)) = webhook_request(row)
        {
            for (field, value) in sealed_values(&request) {
                let opens = self
                    .key()
                    .is_some_and(|key| key.sealer.open(value).is_some());
                if !opens {
                    let tried = self.key().map_or_else(
                        || "no key: the database has no generated key".to_owned(),
                        Key::described,
                    );
                    return Err(refused(format!(
                        "webhook {uuid}'s {field} does not open with {tried}: export with the --secret-key (or TREATY_SECRET_KEY) the server runs with, so the export can name the key that opens it"
                    )));
                }
                self.sealed += 1;
            }
        }
        self.inner.row(table, row)
    }
}

/// Passes an import through, keeping each sealed value that opens with the
/// key the server will run with and re-sealing those that open with an old
/// key; refuses the rest, and a file whose key is not one of those.
pub struct CheckedImport {
    reader: JsonReader,
    configured: Option<Key>,
    previous: Option<Key>,
    generated: Option<Key>,
    /// The file's `secretKey` member, once read (it follows the tables).
    named: Option<Value>,
    pub resealed: u64,
    /// The last audit entry's hash as the file has it, and as written.
    chain: Option<(String, String)>,
    pub audit_entries_resealed: u64,
}

impl CheckedImport {
    pub fn new(reader: JsonReader, secret_key: Option<&str>, previous: Option<&str>) -> Self {
        Self {
            reader,
            configured: secret_key.map(|key| Key::new(key, Origin::Configured)),
            previous: previous.map(|key| Key::new(key, Origin::Previous)),
            generated: None,
            named: None,
            resealed: 0,
            chain: None,
            audit_entries_resealed: 0,
        }
    }

    /// The key the server will seal and open with after the import.
    fn target(&self) -> Option<&Key> {
        self.configured.as_ref().or(self.generated.as_ref())
    }

    /// Keys whose sealed values may be re-sealed with the target: the
    /// previous key, and the file's generated key when a --secret-key replaces it.
    fn old_keys(&self) -> impl Iterator<Item = &Key> {
        let generated = self.configured.as_ref().and(self.generated.as_ref());
        self.previous.iter().chain(generated)
    }

    fn reseal(&mut self, row: &mut DumpRow) -> StoreResult<()> {
        let (uuid, Some(mut request)) = webhook_request(row) else {
            return Ok(());
        };
        let mut resealed = Vec::new();
        for (field, value) in sealed_values(&request) {
            let Some(target) = self.target() else {
                return Err(refused(format!(
                    "webhook {uuid}'s {field} is sealed with a --secret-key: import with that key as --secret-key (or TREATY_SECRET_KEY), and run the server with it"
                )));
            };
            if target.sealer.open(value).is_some() {
                continue;
            }
            let Some(plain) = self.old_keys().find_map(|old| old.sealer.open(value)) else {
                let previous = self
                    .previous
                    .as_ref()
                    .map(|key| format!(" or {}", key.described()))
                    .unwrap_or_default();
                return Err(refused(format!(
                    "webhook {uuid}'s {field} does not open with {}{previous}: the export was sealed with another key. Import with the --secret-key the export was made with, or give that key as --previous-secret-key to re-seal the secrets with the new --secret-key",
                    target.described()
                )));
            };
            resealed.push((field, target.sealer.seal(&plain)));
        }
        if resealed.is_empty() {
            return Ok(());
        }
        self.resealed += resealed.len() as u64;
        for (field, sealed) in resealed {
            request[field] = Value::String(sealed);
        }
        row.insert("request".to_owned(), Value::String(request.to_string()));
        Ok(())
    }

    /// Checks an audit entry with the key that sealed it and, when that is
    /// an old key, seals it (and the links after it) with the target.
    fn reseal_audit_entry(&mut self, row: &mut DumpRow) -> StoreResult<()> {
        let mut entry = audit_entry(row)?;
        let (previous_in_file, previous_written) = self.chain.clone().unwrap_or_default();
        if entry.previous_hash != previous_in_file {
            return Err(refused(format!(
                "audit entry {} does not link to the entry before it in the file: the export's audit log is not whole",
                entry.id
            )));
        }
        let in_file = entry.hash.clone();
        let keys: Vec<&Key> = self.target().into_iter().chain(self.old_keys()).collect();
        let sealed_with = keys
            .iter()
            .find(|key| audit_hash(&key.audit, &entry.previous_hash, &entry) == entry.hash);
        let Some(sealed_with) = sealed_with else {
            return Err(refused(format!(
                "audit entry {} does not verify with any key given: import with the --secret-key the export was made with (and --previous-secret-key to change it)",
                entry.id
            )));
        };
        let target = self.target().map(|key| key.fingerprint.clone());
        let rewrite = previous_written != previous_in_file
            || (entry.keyed && target.as_ref() != Some(&sealed_with.fingerprint));
        if rewrite && let Some(target) = self.target() {
            entry.previous_hash.clone_from(&previous_written);
            entry.hash = audit_hash(&target.audit, &entry.previous_hash, &entry);
            row.insert("previous_hash".into(), json!(entry.previous_hash));
            row.insert("hash".into(), json!(entry.hash));
            self.audit_entries_resealed += 1;
        }
        self.chain = Some((in_file, entry.hash));
        Ok(())
    }

    /// The key the file names must be the target, or one it was re-sealed from.
    fn check_named_key(&self) -> StoreResult<()> {
        let Some(fingerprint) = self
            .named
            .as_ref()
            .and_then(|named| named.get("fingerprint"))
            .and_then(Value::as_str)
        else {
            // No key named: nothing was sealed (or the file predates keys).
            return Ok(());
        };
        let target = self.target();
        if target.is_some_and(|key| key.fingerprint == fingerprint)
            || (target.is_some() && self.old_keys().any(|key| key.fingerprint == fingerprint))
        {
            return Ok(());
        }
        Err(refused(match target {
            None => format!(
                "this export was made with a --secret-key (fingerprint {fingerprint}): import it with the same --secret-key (or TREATY_SECRET_KEY), and run the server with it"
            ),
            Some(target) => format!(
                "this export was made with the secret key of fingerprint {fingerprint}, not {}: import with the key the export was made with, or give that key as --previous-secret-key to re-seal the webhook secrets with the new --secret-key",
                target.described()
            ),
        }))
    }
}

#[async_trait]
impl DumpSource for CheckedImport {
    async fn next_row(&mut self) -> StoreResult<Option<(String, DumpRow)>> {
        loop {
            match self.reader.next_item().await? {
                Some(Item::Member(name, value)) if name == MEMBER => self.named = Some(value),
                Some(Item::Member(name, _)) => return Err(unknown_member(&name)),
                Some(Item::Row(table, mut row)) => {
                    if table == "settings"
                        && let Some(key) = generated_key(&row)
                    {
                        self.generated = Some(Key::new(key, Origin::Generated));
                    }
                    if table == "webhooks" {
                        self.reseal(&mut row)?;
                    }
                    if table == "audit_log" {
                        self.reseal_audit_entry(&mut row)?;
                    }
                    return Ok(Some((table, row)));
                }
                None => {
                    self.check_named_key()?;
                    return Ok(None);
                }
            }
        }
    }
}

/// An audit entry as an export row holds it.
fn audit_entry(row: &DumpRow) -> StoreResult<AuditEntry> {
    let text = |column: &str| {
        row.get(column)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| refused(format!("an audit entry has no {column}")))
    };
    let number = |column: &str| {
        row.get(column)
            .and_then(Value::as_i64)
            .ok_or_else(|| refused(format!("an audit entry has no {column}")))
    };
    let at = chrono::DateTime::parse_from_rfc3339(&text("at")?)
        .map_err(|e| refused(format!("an audit entry's time is not a time: {e}")))?
        .with_timezone(&chrono::Utc);
    Ok(AuditEntry {
        id: number("id")?,
        at,
        actor: text("actor")?,
        address: text("address")?,
        method: text("method")?,
        target: text("target")?,
        status: u16::try_from(number("status")?).unwrap_or(0),
        summary: text("summary")?,
        previous_hash: text("previous_hash")?,
        hash: text("hash")?,
        // Files from before keyed chains have no such column.
        keyed: row.get("keyed").and_then(Value::as_bool).unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use treaty_server::secrets::Sealer;

    #[test]
    fn a_fingerprint_names_a_key_without_revealing_it() {
        let one = Sealer::fingerprint("correct horse");
        assert_eq!(one, Sealer::fingerprint("correct horse"));
        assert_ne!(one, Sealer::fingerprint("correct horse "));
        assert_eq!(one.len(), 32);
        assert!(!one.contains("correct"));
    }
}
