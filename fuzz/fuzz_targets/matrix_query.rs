//! `/matrix` and `/can-i-deploy` query strings (Rack-style nested queries).
#![no_main]

use libfuzzer_sys::fuzz_target;
use treaty_domain::matrix_query::{self, MatrixQuery};

fuzz_target!(|data: &[u8]| {
    let raw = String::from_utf8_lossy(data);
    let _ = matrix_query::parse_nested_query(&raw);
    let _ = matrix_query::parse_matrix_query(&raw);
    if let Ok(query) = matrix_query::parse_can_i_deploy_query(&raw) {
        let _ = MatrixQuery::from_can_i_deploy(&query);
    }
});
