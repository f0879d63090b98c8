//! Pact documents as published (raw bytes, or base64 inside `/contracts/publish`):
//! parsing, the content hash, the stored form and merging.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use treaty_domain::pact::{self, PactDocument};

fuzz_target!(|data: &[u8]| {
    let _ = PactDocument::parse_base64(&String::from_utf8_lossy(data));

    // Two JSON documents in a row: merge the second into the first, as
    // `onConflict: merge` does with the stored pact.
    let mut stream = serde_json::Deserializer::from_slice(data).into_iter::<Value>();
    if let (Some(Ok(existing)), Some(Ok(new))) = (stream.next(), stream.next())
        && let Ok(new) = PactDocument::from_value(new)
    {
        let _ = pact::merge(&existing, &new);
    }

    let Ok(document) = PactDocument::parse(data) else {
        return;
    };
    let _ = document.consumer_name();
    let _ = document.provider_name();
    let _ = document.require_participants();
    let _ = document.interactions_count() + document.messages_count();
    let sha = document.sha();
    let stored = document.clone().into_stored();
    let _ = pact::merge(&stored, &document);
    let _ = pact::merge(&document.as_value(), &document);
    // Documented invariant: the stored form hashes like the published one.
    let reread = PactDocument::from_value(stored).expect("the stored form is a pact");
    assert_eq!(sha, reread.sha(), "stored content hashes differently");
});
