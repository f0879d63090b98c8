//! The network: consumers and providers as a graph (inline SVG), each edge
//! coloured by the latest verification of that contract, with the same
//! facts as a table for screen readers and small screens.

use std::collections::{BTreeMap, BTreeSet};

use askama::Template;
use axum::extract::State;

use super::integration_status::{StatusView, statuses};
use super::view::Nav;
use super::{PageResult, ok};
use crate::AppState;
use crate::base_url::BaseUrl;

const COLUMN_WIDTH: i64 = 240;
const NODE_WIDTH: i64 = 190;
const NODE_HEIGHT: i64 = 34;
const ROW_HEIGHT: i64 = 56;
const MARGIN: i64 = 16;
/// Longer names are cut in the picture (the full name is its tooltip and in the table).
const LABEL_CHARS: usize = 24;

#[derive(Template)]
#[template(path = "ui/network.html")]
struct NetworkPage {
    nav: Nav,
    width: i64,
    height: i64,
    nodes: Vec<Node>,
    edges: Vec<Edge>,
}

struct Node {
    name: String,
    label: String,
    href: String,
    x: i64,
    y: i64,
    text_x: i64,
    text_y: i64,
}

struct Edge {
    consumer: String,
    consumer_href: String,
    provider: String,
    provider_href: String,
    contract_href: String,
    matrix_href: String,
    /// SVG path data from the consumer to the provider.
    path: String,
    /// The provider's main line decides the colour (`integration_status`).
    status: StatusView,
    result: String,
}

/// Each node's column: the longest chain of consumers in front of it, so
/// pure consumers stand left and pure providers right. A cycle stops
/// growing after as many rounds as there are nodes.
fn columns(names: &BTreeSet<String>, pairs: &[(String, String)]) -> BTreeMap<String, i64> {
    let mut column: BTreeMap<String, i64> = names.iter().map(|n| (n.clone(), 0)).collect();
    for _ in 0..names.len() {
        let mut changed = false;
        for (consumer, provider) in pairs {
            let next = column[consumer] + 1;
            if consumer != provider && column[provider] < next && next < names.len() as i64 {
                column.insert(provider.clone(), next);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    column
}

/// `GET /ui/network`
pub async fn page(
    State(state): State<AppState>,
    base: BaseUrl,
    viewer: super::forms::Viewer,
) -> PageResult {
    let nav = Nav::new(&base, &viewer, "network");
    let links = nav.links.clone();
    let integrations = state.store.integrations(None).await?.items;
    let statuses = statuses(&state, None, None).await?;
    let pairs: Vec<(String, String)> = integrations
        .iter()
        .map(|i| (i.consumer.clone(), i.provider.clone()))
        .collect();
    let names: BTreeSet<String> = pairs
        .iter()
        .flat_map(|(c, p)| [c.clone(), p.clone()])
        .collect();
    let column = columns(&names, &pairs);

    let mut rows_used: BTreeMap<i64, i64> = BTreeMap::new();
    let mut position: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    let mut nodes = Vec::new();
    for name in &names {
        let col = column[name];
        let row = rows_used.entry(col).or_insert(0);
        let (x, y) = (MARGIN + col * COLUMN_WIDTH, MARGIN + *row * ROW_HEIGHT);
        *row += 1;
        position.insert(name.clone(), (x, y));
        let label = if name.chars().count() > LABEL_CHARS {
            format!(
                "{}…",
                name.chars().take(LABEL_CHARS - 1).collect::<String>()
            )
        } else {
            name.clone()
        };
        nodes.push(Node {
            name: name.clone(),
            label,
            href: links.application(name),
            x,
            y,
            text_x: x + 10,
            text_y: y + NODE_HEIGHT / 2 + 5,
        });
    }

    let edges = integrations
        .iter()
        .map(|i| {
            let (cx, cy) = position[&i.consumer];
            let (px, py) = position[&i.provider];
            let (x1, y1) = (cx + NODE_WIDTH, cy + NODE_HEIGHT / 2);
            let path = if px > cx {
                let (x2, y2) = (px, py + NODE_HEIGHT / 2);
                let bend = (x2 - x1) / 2;
                format!(
                    "M{x1},{y1} C{},{y1} {},{y2} {x2},{y2}",
                    x1 + bend,
                    x2 - bend
                )
            } else {
                // A provider in the same or an earlier column (a cycle): loop
                // out to the right and come back into its right side.
                let (x2, y2) = (px + NODE_WIDTH, py + NODE_HEIGHT / 2);
                let out = x1.max(x2) + 40;
                format!("M{x1},{y1} C{out},{y1} {out},{y2} {x2},{y2}")
            };
            let status = StatusView::new(
                statuses.get(&(i.consumer.clone(), i.provider.clone())),
                &i.provider,
            );
            let result = status.text();
            Edge {
                consumer_href: links.application(&i.consumer),
                provider_href: links.application(&i.provider),
                contract_href: links.contract(&i.provider, &i.consumer, None),
                consumer: i.consumer.clone(),
                provider: i.provider.clone(),
                matrix_href: links.integration(&i.provider, &i.consumer),
                path,
                status,
                result,
            }
        })
        .collect();

    let columns_used = column.values().max().map_or(0, |c| c + 1);
    let rows = rows_used.values().max().copied().unwrap_or(0);
    ok(&NetworkPage {
        nav,
        width: (MARGIN * 2 + columns_used * COLUMN_WIDTH + 40).max(300),
        height: (MARGIN * 2 + rows * ROW_HEIGHT).max(80),
        nodes,
        edges,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(c, p)| ((*c).to_owned(), (*p).to_owned()))
            .collect()
    }

    #[test]
    fn consumers_stand_left_of_their_providers() {
        let column = columns(
            &names(&["web", "orders", "payments"]),
            &pairs(&[
                ("web", "orders"),
                ("orders", "payments"),
                ("web", "payments"),
            ]),
        );
        assert_eq!(column["web"], 0);
        assert_eq!(column["orders"], 1);
        assert_eq!(column["payments"], 2);
    }

    #[test]
    fn a_cycle_ends_within_the_picture() {
        let column = columns(&names(&["a", "b"]), &pairs(&[("a", "b"), ("b", "a")]));
        assert!(column.values().all(|c| *c < 2), "{column:?}");
    }
}
