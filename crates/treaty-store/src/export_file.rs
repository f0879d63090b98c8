//! The export file: one JSON document, written and read row by row, so an
//! export of any size takes a few rows of memory, not the whole document.
//!
//! ```text
//! {"format":"treaty-export","formatVersion":2,"tables":{
//! "settings":[
//! {"name":"…","value":"…"},
//! …],
//! "pacticipants":[
//! …]},
//! "secretKey":{…}}
//! ```
//!
//! The tables come in the store's order (parents before children), one row
//! a line. Members after the tables (`secretKey`) are the caller's: `treaty
//! export` says there which key seals the webhook secrets.

use std::io::{Read, Write};

use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use crate::{Dump, DumpRow, DumpSink, DumpSource, StoreError, StoreResult};

pub const FORMAT: &str = "treaty-export";
/// Version 2 exports every table; version 1 (which left out webhooks, their
/// deliveries, tokens and the audit log) is still read.
pub const FORMAT_VERSION: u64 = 2;
const OLDEST_READABLE_VERSION: u64 = 1;

const NOT_AN_EXPORT: &str = "this file is not a Treaty export";

fn refused(message: impl Into<String>) -> StoreError {
    StoreError::Conflict(message.into())
}

fn check_format(format: &Value) -> StoreResult<()> {
    if format.as_str() == Some(FORMAT) {
        Ok(())
    } else {
        Err(refused(NOT_AN_EXPORT))
    }
}

fn check_version(version: &Value) -> StoreResult<()> {
    match version.as_u64() {
        Some(v) if (OLDEST_READABLE_VERSION..=FORMAT_VERSION).contains(&v) => Ok(()),
        _ => Err(refused(format!(
            "this export has format version {version}; this Treaty reads versions {OLDEST_READABLE_VERSION} to {FORMAT_VERSION} (a newer release wrote it: import it with that release or a newer one)"
        ))),
    }
}

/// Writes an export as it streams by.
pub struct JsonWriter<W: Write + Send> {
    out: W,
    tables: usize,
    rows_in_table: usize,
}

fn io_error(error: std::io::Error) -> StoreError {
    refused(format!("cannot write the export: {error}"))
}

impl<W: Write + Send> JsonWriter<W> {
    pub fn new(mut out: W) -> StoreResult<Self> {
        write!(
            out,
            "{{\"format\":\"{FORMAT}\",\"formatVersion\":{FORMAT_VERSION},\"tables\":{{"
        )
        .map_err(io_error)?;
        Ok(Self {
            out,
            tables: 0,
            rows_in_table: 0,
        })
    }

    /// Closes the document, with `members` after the tables; returns the
    /// writer, flushed.
    pub fn finish(mut self, members: &[(&str, Value)]) -> StoreResult<W> {
        if self.tables > 0 {
            self.out.write_all(b"]").map_err(io_error)?;
        }
        self.out.write_all(b"}").map_err(io_error)?;
        for (name, value) in members {
            write!(self.out, ",\n{}:{value}", json!(name)).map_err(io_error)?;
        }
        self.out.write_all(b"}\n").map_err(io_error)?;
        self.out.flush().map_err(io_error)?;
        Ok(self.out)
    }
}

impl<W: Write + Send> DumpSink for JsonWriter<W> {
    fn table(&mut self, name: &str) -> StoreResult<()> {
        let separator = if self.tables > 0 { "],\n" } else { "\n" };
        write!(self.out, "{separator}{}:[", json!(name)).map_err(io_error)?;
        self.tables += 1;
        self.rows_in_table = 0;
        Ok(())
    }

    fn row(&mut self, _table: &str, row: &DumpRow) -> StoreResult<()> {
        let separator: &[u8] = if self.rows_in_table > 0 {
            b",\n"
        } else {
            b"\n"
        };
        self.out.write_all(separator).map_err(io_error)?;
        serde_json::to_writer(&mut self.out, row)
            .map_err(|e| refused(format!("cannot write the export: {e}")))?;
        self.rows_in_table += 1;
        Ok(())
    }
}

/// What a reader finds in an export, in file order.
#[derive(Debug)]
pub enum Item {
    Row(String, DumpRow),
    /// A top-level member other than the header and the tables.
    Member(String, Value),
}

/// Reads an export as it is parsed, on a thread of its own, a bounded
/// number of rows ahead of the import.
pub struct JsonReader {
    batches: mpsc::Receiver<StoreResult<Vec<Item>>>,
    batch: std::vec::IntoIter<Item>,
}

/// Rows handed over at a time (one hand-off between threads per row cost
/// more than the row), and batches parsed ahead of the import.
const BATCH: usize = 256;
const BATCHES_AHEAD: usize = 4;

impl JsonReader {
    pub fn new(input: impl Read + Send + 'static) -> Self {
        let (send, batches) = mpsc::channel(BATCHES_AHEAD);
        tokio::task::spawn_blocking(move || parse(input, send));
        Self {
            batches,
            batch: Vec::new().into_iter(),
        }
    }

    /// The next row or member; `None` at the end of a valid export.
    pub async fn next_item(&mut self) -> StoreResult<Option<Item>> {
        loop {
            if let Some(item) = self.batch.next() {
                return Ok(Some(item));
            }
            match self.batches.recv().await.transpose()? {
                Some(batch) => self.batch = batch.into_iter(),
                None => return Ok(None),
            }
        }
    }
}

#[async_trait::async_trait]
impl DumpSource for JsonReader {
    /// The rows; a member other than the tables is refused, since this
    /// reader would drop it.
    async fn next_row(&mut self) -> StoreResult<Option<(String, DumpRow)>> {
        match self.next_item().await? {
            Some(Item::Row(table, row)) => Ok(Some((table, row))),
            Some(Item::Member(name, _)) => Err(unknown_member(&name)),
            None => Ok(None),
        }
    }
}

pub fn unknown_member(name: &str) -> StoreError {
    refused(format!(
        "this export has a member \"{name}\" this Treaty does not know (a newer release wrote it): import it with that release or a newer one"
    ))
}

/// Collects parsed items into batches and hands them to the import.
struct Batches {
    send: mpsc::Sender<StoreResult<Vec<Item>>>,
    pending: Vec<Item>,
}

impl Batches {
    /// False when the import stopped listening.
    fn push(&mut self, item: Item) -> bool {
        self.pending.push(item);
        self.pending.len() < BATCH || self.flush()
    }

    fn flush(&mut self) -> bool {
        let batch = std::mem::replace(&mut self.pending, Vec::with_capacity(BATCH));
        batch.is_empty() || self.send.blocking_send(Ok(batch)).is_ok()
    }
}

/// Parses on the calling (blocking) thread and sends what it finds; stops
/// at the first error, or when the import stops listening.
fn parse(input: impl Read, send: mpsc::Sender<StoreResult<Vec<Item>>>) {
    let mut deserializer = serde_json::Deserializer::from_reader(std::io::BufReader::new(input));
    let mut batches = Batches {
        send,
        pending: Vec::with_capacity(BATCH),
    };
    let mut refusal = None;
    let parsed = Document {
        batches: &mut batches,
        refusal: &mut refusal,
    }
    .deserialize(&mut deserializer)
    .and_then(|()| deserializer.end());
    // What was read before an error still goes first, in order.
    if !batches.flush() {
        return;
    }
    let error = match (parsed, refusal) {
        (_, Some(refusal)) => refusal,
        (Ok(()), None) => return,
        (Err(error), None) if error.is_io() => refused(format!("cannot read the export: {error}")),
        (Err(error), None) => refused(format!("{NOT_AN_EXPORT} (not valid JSON: {error})")),
    };
    // Nobody listening means the import already stopped: nothing to tell.
    let _ = batches.send.blocking_send(Err(error));
}

fn stopped<E: serde::de::Error>() -> E {
    E::custom("the import stopped")
}

/// The whole document: the header, checked before any row is sent.
struct Document<'a> {
    batches: &'a mut Batches,
    /// Why parsing stopped, when it was this code and not the JSON.
    refusal: &'a mut Option<StoreError>,
}

impl Document<'_> {
    fn stop<E: serde::de::Error>(&mut self, why: StoreError) -> E {
        *self.refusal = Some(why);
        E::custom("refused")
    }
}

impl<'de> DeserializeSeed<'de> for Document<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Document<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a Treaty export (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let (mut format, mut version) = (false, false);
        // Members before the header wait until it says this is an export.
        let mut early = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "format" => {
                    let value: Value = map.next_value()?;
                    check_format(&value).map_err(|why| self.stop::<A::Error>(why))?;
                    format = true;
                }
                "formatVersion" => {
                    let value: Value = map.next_value()?;
                    check_version(&value).map_err(|why| self.stop::<A::Error>(why))?;
                    version = true;
                }
                "tables" if !(format && version) => {
                    return Err(self.stop(refused(format!(
                        "{NOT_AN_EXPORT}: its header (format, formatVersion) must come before its tables"
                    ))));
                }
                "tables" => map.next_value_seed(Tables {
                    batches: &mut *self.batches,
                })?,
                _ => {
                    let value: Value = map.next_value()?;
                    early.push(Item::Member(key, value));
                }
            }
            if format && version {
                for item in early.drain(..) {
                    if !self.batches.push(item) {
                        return Err(stopped());
                    }
                }
            }
        }
        if format && version {
            Ok(())
        } else {
            Err(self.stop(refused(NOT_AN_EXPORT)))
        }
    }
}

struct Tables<'a> {
    batches: &'a mut Batches,
}

impl<'de> DeserializeSeed<'de> for Tables<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Tables<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the tables: an object of arrays of rows")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(table) = map.next_key::<String>()? {
            map.next_value_seed(Rows {
                table,
                batches: &mut *self.batches,
            })?;
        }
        Ok(())
    }
}

struct Rows<'a> {
    table: String,
    batches: &'a mut Batches,
}

impl<'de> DeserializeSeed<'de> for Rows<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Rows<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the rows of {}: an array of objects", self.table)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut rows: A) -> Result<(), A::Error> {
        while let Some(row) = rows.next_element::<DumpRow>()? {
            if !self.batches.push(Item::Row(self.table.clone(), row)) {
                return Err(stopped());
            }
        }
        Ok(())
    }
}

/// An export collected into one JSON value (`DumpStore::export`).
#[derive(Default)]
pub struct ValueSink {
    tables: Map<String, Value>,
}

impl ValueSink {
    pub fn into_dump(self) -> Dump {
        Dump(json!({ "format": FORMAT, "formatVersion": FORMAT_VERSION, "tables": self.tables }))
    }
}

impl DumpSink for ValueSink {
    fn table(&mut self, name: &str) -> StoreResult<()> {
        self.tables
            .insert(name.to_owned(), Value::Array(Vec::new()));
        Ok(())
    }

    fn row(&mut self, table: &str, row: &DumpRow) -> StoreResult<()> {
        if let Some(Value::Array(rows)) = self.tables.get_mut(table) {
            rows.push(Value::Object(row.clone()));
        }
        Ok(())
    }
}

/// The rows of an export held as one JSON value (`DumpStore::import`).
pub struct ValueSource {
    rows: std::vec::IntoIter<(String, DumpRow)>,
}

impl ValueSource {
    pub fn new(dump: &Dump) -> StoreResult<Self> {
        let document = &dump.0;
        check_format(document.get("format").unwrap_or(&Value::Null))?;
        check_version(document.get("formatVersion").unwrap_or(&Value::Null))?;
        let mut rows = Vec::new();
        if let Some(tables) = document.get("tables").and_then(Value::as_object) {
            for (table, table_rows) in tables {
                let table_rows = table_rows.as_array().ok_or_else(|| {
                    refused(format!("the export's {table} is not an array of rows"))
                })?;
                for row in table_rows {
                    let row = row.as_object().ok_or_else(|| {
                        refused(format!(
                            "the export's {table} has a row that is not an object"
                        ))
                    })?;
                    rows.push((table.clone(), row.clone()));
                }
            }
        }
        Ok(Self {
            rows: rows.into_iter(),
        })
    }
}

#[async_trait::async_trait]
impl DumpSource for ValueSource {
    async fn next_row(&mut self) -> StoreResult<Option<(String, DumpRow)>> {
        Ok(self.rows.next())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(value: Value) -> DumpRow {
        value.as_object().unwrap().clone()
    }

    fn write(members: &[(&str, Value)]) -> String {
        let mut writer = JsonWriter::new(Vec::new()).unwrap();
        writer.table("settings").unwrap();
        writer
            .row("settings", &row(json!({"name": "a", "value": "ü\n\"x\""})))
            .unwrap();
        writer
            .row("settings", &row(json!({"name": "b", "value": "2"})))
            .unwrap();
        writer.table("labels").unwrap();
        String::from_utf8(writer.finish(members).unwrap()).unwrap()
    }

    async fn read_all(text: &str) -> StoreResult<Vec<Item>> {
        let mut reader = JsonReader::new(std::io::Cursor::new(text.to_owned().into_bytes()));
        let mut items = Vec::new();
        while let Some(item) = reader.next_item().await? {
            items.push(item);
        }
        Ok(items)
    }

    #[test]
    fn the_written_document_is_one_json_value_with_a_row_a_line() {
        let text = write(&[("secretKey", json!({"fingerprint": "f"}))]);
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["format"], FORMAT);
        assert_eq!(value["tables"]["settings"][0]["value"], "ü\n\"x\"");
        assert_eq!(value["tables"]["labels"], json!([]));
        assert_eq!(value["secretKey"]["fingerprint"], "f");
        assert_eq!(text.lines().count(), 6, "{text}");
        let empty =
            String::from_utf8(JsonWriter::new(Vec::new()).unwrap().finish(&[]).unwrap()).unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&empty).unwrap()["tables"],
            json!({})
        );
    }

    #[tokio::test]
    async fn the_reader_gives_rows_and_members_in_file_order() {
        let text = write(&[("secretKey", json!(null))]);
        let items = read_all(&text).await.unwrap();
        let names: Vec<String> = items
            .iter()
            .map(|item| match item {
                Item::Row(table, row) => format!("{table}.{}", row["name"].as_str().unwrap()),
                Item::Member(name, _) => name.clone(),
            })
            .collect();
        assert_eq!(names, ["settings.a", "settings.b", "secretKey"]);
    }

    #[tokio::test]
    async fn the_reader_refuses_what_is_not_an_export_saying_why() {
        for (text, says) in [
            ("{\"hello\": 1}", "not a Treaty export"),
            ("{\"hello\": 1, \"format\": \"x\"}", "not a Treaty export"),
            ("not json", "not valid JSON"),
            (
                "{\"format\":\"treaty-export\",\"formatVersion\":2,\"tables\":{\"x\":[{}]",
                "not valid JSON",
            ),
            (
                "{\"format\":\"treaty-export\",\"formatVersion\":3,\"tables\":{}}",
                "format version 3",
            ),
            (
                "{\"tables\":{},\"format\":\"treaty-export\",\"formatVersion\":2}",
                "must come before",
            ),
            (
                "{\"format\":\"treaty-export\",\"formatVersion\":2,\"tables\":{}} x",
                "not valid JSON",
            ),
        ] {
            let error = read_all(text).await.unwrap_err().to_string();
            assert!(error.contains(says), "{text}: {error}");
        }
    }
}
