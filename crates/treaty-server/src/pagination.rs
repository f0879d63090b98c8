//! `?page=N&size=M` (or the older `pageNumber`/`pageSize`): a list is paginated
//! only when one of them is given.

use serde::Deserialize;
use serde_json::{Map, Value, json};
use treaty_domain::model::{PageInfo, PageRequest};

use crate::error::ApiError;
use crate::hal;

pub const DEFAULT_PAGE_SIZE: u32 = 100;
pub const MAX_PAGE_SIZE: u32 = 1000;

#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    page: Option<String>,
    size: Option<String>,
    #[serde(rename = "pageNumber")]
    page_number: Option<String>,
    #[serde(rename = "pageSize")]
    page_size: Option<String>,
}

/// A page number or size: a whole number of at least 1, refused in the
/// Pact Broker's words (its validation library's) otherwise.
fn positive(name: &str, raw: &str) -> Result<u32, ApiError> {
    match raw.trim().parse::<i64>() {
        Ok(n) if n >= 1 => Ok(u32::try_from(n).unwrap_or(u32::MAX)),
        Ok(_) => Err(ApiError::field(name, "must be greater than or equal to 1")),
        Err(_) => Err(ApiError::field(name, "must be an integer")),
    }
}

impl PageQuery {
    pub fn request(&self) -> Result<Option<PageRequest>, ApiError> {
        let number = self
            .page
            .as_deref()
            .map(|raw| positive("page", raw))
            .transpose()?;
        let number = match number {
            Some(n) => Some(n),
            None => self
                .page_number
                .as_deref()
                .map(|raw| positive("pageNumber", raw))
                .transpose()?,
        };
        let size = self
            .size
            .as_deref()
            .map(|raw| positive("size", raw))
            .transpose()?;
        let size = match size {
            Some(n) => Some(n),
            None => self
                .page_size
                .as_deref()
                .map(|raw| positive("pageSize", raw))
                .transpose()?,
        };
        if number.is_none() && size.is_none() {
            return Ok(None);
        }
        Ok(Some(PageRequest {
            number: number.unwrap_or(1),
            size: size.unwrap_or(DEFAULT_PAGE_SIZE).min(MAX_PAGE_SIZE),
        }))
    }
}

/// Adds `page` and the `next`/`previous` links of a paginated list.
pub fn decorate(
    body: &mut Map<String, Value>,
    links: &mut Map<String, Value>,
    page: Option<PageInfo>,
    self_href: &str,
) {
    let Some(page) = page else {
        return;
    };
    body.insert(
        "page".into(),
        json!({
            "number": page.number,
            "size": page.size,
            "totalElements": page.total_elements,
            "totalPages": page.total_pages(),
        }),
    );
    if u64::from(page.number) < page.total_pages() {
        links.insert(
            "next".into(),
            hal::titled(
                format!("{self_href}?size={}&page={}", page.size, page.number + 1),
                "Next page",
                None,
            ),
        );
    }
    if page.number > 1 {
        links.insert(
            "previous".into(),
            hal::titled(
                format!("{self_href}?size={}&page={}", page.size, page.number - 1),
                "Previous page",
                None,
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paginates_only_when_asked() {
        assert_eq!(PageQuery::default().request().unwrap(), None);
        let query = PageQuery {
            size: Some("2".into()),
            ..Default::default()
        };
        assert_eq!(
            query.request().unwrap(),
            Some(PageRequest { number: 1, size: 2 })
        );
    }

    #[test]
    fn refuses_zero_and_words() {
        for bad in ["0", "x", "-1"] {
            let query = PageQuery {
                page: Some(bad.into()),
                ..Default::default()
            };
            assert!(query.request().is_err());
        }
    }
}
