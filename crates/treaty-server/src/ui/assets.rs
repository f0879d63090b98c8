//! The UI's stylesheet and its one script (the Copy button), compiled into
//! the binary: nothing is fetched from outside, so the UI works without
//! internet access.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

const STYLESHEET: &str = include_str!("../../assets/treaty.css");
const COPY_SCRIPT: &str = include_str!("../../assets/copy.js");

/// `GET /ui/assets/treaty.css`
pub async fn stylesheet() -> Response {
    let mut response = STYLESHEET.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}

/// `GET /ui/assets/copy.js`: the Copy button of a value shown once.
pub async fn copy_script() -> Response {
    let mut response = COPY_SCRIPT.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}
