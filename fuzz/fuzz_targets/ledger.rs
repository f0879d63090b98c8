//! Deployment events and incidents (`POST /ledger/...` bodies).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use treaty_domain::ledger::{self, Status};

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        let _ = Status::parse(&String::from_utf8_lossy(data));
        return;
    };
    let _ = ledger::parse_incident(&body);
    if let Ok(event) = ledger::parse_event(&body)
        && let Some(next) = event.status
    {
        for current in [
            Status::Pending,
            Status::Started,
            Status::Completed,
            Status::Failed,
            Status::Aborted,
            Status::TimedOut,
        ] {
            let _ = ledger::transition(current, next);
        }
        let _ = (next.as_str(), next.is_final());
    }
});
