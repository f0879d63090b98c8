//! The path extractor every route uses: axum's, with its rejection (a path
//! segment that is not UTF-8 once percent-decoded, say) answered as a
//! problem document like every other client mistake, not as plain text.

use axum::extract::FromRequestParts;
use axum::extract::path::ErrorKind;
use axum::extract::rejection::PathRejection;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Path parameters, as `axum::extract::Path`.
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Self(value)),
            Err(PathRejection::FailedToDeserializePathParams(error)) => {
                let hint = match error.kind() {
                    ErrorKind::InvalidUtf8InPathParam { .. } => {
                        ". Percent-encode each path segment as UTF-8."
                    }
                    _ => "",
                };
                Err(ApiError::BadRequest(format!("{}{hint}", error.body_text())))
            }
            // The route and its handler disagree: a bug, not the client's.
            Err(other) => Err(ApiError::Internal(other.body_text())),
        }
    }
}
