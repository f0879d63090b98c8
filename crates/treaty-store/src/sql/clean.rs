//! `treaty clean`: removing the versions no keep selector names, in batches.
//!
//! Each selector becomes a condition on one version row (`v`), checked
//! version by version down the primary key from a cursor, so a batch reads
//! what it removes and little else, however large the history: "the latest"
//! is "no newer version of the pacticipant (with that tag) matches", and a
//! branch head is found from the version's branch memberships. The scan runs
//! outside the write lock; the write transaction checks the batch again
//! (something may have been deployed or tagged since), then deletes.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use treaty_domain::retention::{
    AnyOr, CleanCounts, CleanReport, CleanedVersion, KeepSelector, Latest,
};

use super::{Backend, Conn, now, rows, sql};
use crate::{CleanRequest, RetentionStore, StoreError, StoreResult};

type Db = <Conn as sqlx::Connection>::Database;
type Query<'q> = sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments>;

/// The most values bound to one `IN (...)` list.
const CHUNK: usize = 1000;

/// A value bound to a `?`.
#[derive(Debug, Clone)]
enum Arg {
    Int(i64),
    Text(String),
    Time(DateTime<Utc>),
}

/// SQL text with the values of its placeholders, in order.
#[derive(Debug, Default)]
struct Fragment {
    text: String,
    args: Vec<Arg>,
}

impl Fragment {
    fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            args: Vec::new(),
        }
    }

    fn with(mut self, arg: Arg) -> Self {
        self.args.push(arg);
        self
    }

    fn push(&mut self, text: &str) {
        self.text.push_str(text);
    }

    fn append(&mut self, other: Fragment) {
        self.text.push_str(&other.text);
        self.args.extend(other.args);
    }

    /// `a AND b AND ...`, or a condition that always holds.
    fn all(parts: Vec<Fragment>) -> Fragment {
        if parts.is_empty() {
            return Fragment::new("1 = 1");
        }
        let mut out = Fragment::default();
        for (i, part) in parts.into_iter().enumerate() {
            if i > 0 {
                out.push(" AND ");
            }
            out.push("(");
            out.append(part);
            out.push(")");
        }
        out
    }

    fn query(&self) -> Query<'static> {
        let mut query = sqlx::query(sql(self.text.clone()));
        for arg in &self.args {
            query = match arg {
                Arg::Int(value) => query.bind(*value),
                Arg::Text(value) => query.bind(value.clone()),
                Arg::Time(value) => query.bind(*value),
            };
        }
        query
    }
}

fn id_list(ids: &[i64]) -> Fragment {
    let mut list = Fragment::new(vec!["?"; ids.len().max(1)].join(", "));
    if ids.is_empty() {
        list.args.push(Arg::Int(0));
    }
    list.args.extend(ids.iter().map(|id| Arg::Int(*id)));
    list
}

/// What the selector asks of the version `v` (an alias of `versions`), all
/// but "newest among them"; `skip_tag` leaves out the tag condition when the
/// caller already joins the version's tags.
fn filters(
    selector: &KeepSelector,
    v: &str,
    since: Option<DateTime<Utc>>,
    skip_tag: bool,
) -> Vec<Fragment> {
    let mut parts = Vec::new();
    if let Some(pacticipant) = &selector.pacticipant {
        parts.push(
            Fragment::new(format!(
                "EXISTS (SELECT 1 FROM pacticipants kp WHERE kp.id = {v}.pacticipant_id AND kp.name = ?)"
            ))
            .with(Arg::Text(pacticipant.as_str().to_owned())),
        );
    }
    if let Some(environment) = &selector.environment {
        parts.push(
            Fragment::new(format!(
                "EXISTS (SELECT 1 FROM currently_deployed kc JOIN environments ke ON ke.id = kc.environment_id
                   WHERE kc.version_id = {v}.id AND ke.name = ?)
                 OR EXISTS (SELECT 1 FROM released_versions kr JOIN environments ke ON ke.id = kr.environment_id
                   WHERE kr.version_id = {v}.id AND kr.support_ended_at IS NULL AND ke.name = ?)"
            ))
            .with(Arg::Text(environment.as_str().to_owned()))
            .with(Arg::Text(environment.as_str().to_owned())),
        );
    }
    if selector.deployed {
        parts.push(Fragment::new(format!(
            "EXISTS (SELECT 1 FROM currently_deployed kc WHERE kc.version_id = {v}.id)"
        )));
    }
    if selector.released {
        parts.push(Fragment::new(format!(
            "EXISTS (SELECT 1 FROM released_versions kr WHERE kr.version_id = {v}.id AND kr.support_ended_at IS NULL)"
        )));
    }
    if !skip_tag {
        match &selector.tag {
            Some(AnyOr::Any) => parts.push(Fragment::new(format!(
                "EXISTS (SELECT 1 FROM tags kt WHERE kt.version_id = {v}.id)"
            ))),
            Some(AnyOr::Named(tag)) => parts.push(
                Fragment::new(format!(
                    "EXISTS (SELECT 1 FROM tags kt WHERE kt.version_id = {v}.id AND kt.name = ?)"
                ))
                .with(Arg::Text(tag.as_str().to_owned())),
            ),
            None => {}
        }
    }
    if let Some(since) = since {
        parts.push(Fragment::new(format!("{v}.created_at >= ?")).with(Arg::Time(since)));
    }
    let head = selector.latest() == Latest::BranchHead;
    if selector.main_branch {
        parts.push(Fragment::new(if head {
            format!(
                "EXISTS (SELECT 1 FROM pacticipants kp JOIN branches kb ON kb.pacticipant_id = kp.id AND kb.name = kp.main_branch
                   WHERE kp.id = {v}.pacticipant_id AND kb.head_version_id = {v}.id)"
            )
        } else {
            format!(
                "EXISTS (SELECT 1 FROM branch_versions kbv JOIN branches kb ON kb.id = kbv.branch_id
                   JOIN pacticipants kp ON kp.id = kb.pacticipant_id
                   WHERE kbv.version_id = {v}.id AND kb.name = kp.main_branch)"
            )
        }));
    }
    match (&selector.branch, head) {
        (Some(AnyOr::Any), false) => parts.push(Fragment::new(format!(
            "EXISTS (SELECT 1 FROM branch_versions kbv WHERE kbv.version_id = {v}.id)"
        ))),
        (Some(AnyOr::Any), true) => parts.push(Fragment::new(format!(
            "EXISTS (SELECT 1 FROM branch_versions kbv JOIN branches kb ON kb.id = kbv.branch_id
               WHERE kbv.version_id = {v}.id AND kb.head_version_id = {v}.id)"
        ))),
        (Some(AnyOr::Named(branch)), false) => parts.push(
            Fragment::new(format!(
                "EXISTS (SELECT 1 FROM branch_versions kbv JOIN branches kb ON kb.id = kbv.branch_id
                   WHERE kbv.version_id = {v}.id AND kb.name = ?)"
            ))
            .with(Arg::Text(branch.as_str().to_owned())),
        ),
        (Some(AnyOr::Named(branch)), true) => parts.push(
            Fragment::new(format!(
                "EXISTS (SELECT 1 FROM branches kb
                   WHERE kb.pacticipant_id = {v}.pacticipant_id AND kb.name = ? AND kb.head_version_id = {v}.id)"
            ))
            .with(Arg::Text(branch.as_str().to_owned())),
        ),
        (None, _) => {}
    }
    parts
}

/// True when the selector names the version `v`.
fn names(selector: &KeepSelector, v: &str, as_of: DateTime<Utc>) -> Fragment {
    let since = selector.created_since(as_of);
    let mut parts = filters(selector, v, since, false);
    match selector.latest() {
        Latest::No | Latest::BranchHead => {}
        Latest::PerPacticipant => {
            // No newer version of the pacticipant is named too.
            let newer = match &selector.tag {
                Some(AnyOr::Named(tag)) => {
                    let mut newer = Fragment::new(format!(
                        "NOT EXISTS (SELECT 1 FROM tags nt JOIN versions n ON n.id = nt.version_id
                           WHERE nt.pacticipant_id = {v}.pacticipant_id AND nt.name = ? AND nt.version_id > {v}.id AND "
                    ))
                    .with(Arg::Text(tag.as_str().to_owned()));
                    newer.append(Fragment::all(filters(selector, "n", since, true)));
                    newer.push(")");
                    newer
                }
                _ => {
                    let mut newer = Fragment::new(format!(
                        "NOT EXISTS (SELECT 1 FROM versions n
                           WHERE n.pacticipant_id = {v}.pacticipant_id AND n.id > {v}.id AND "
                    ));
                    newer.append(Fragment::all(filters(selector, "n", since, false)));
                    newer.push(")");
                    newer
                }
            };
            parts.push(newer);
        }
        Latest::PerTag => {
            // One of its tags is on no newer version that is named too.
            let mut newest = Fragment::new(format!(
                "EXISTS (SELECT 1 FROM tags lt WHERE lt.version_id = {v}.id AND NOT EXISTS (
                   SELECT 1 FROM tags nt JOIN versions n ON n.id = nt.version_id
                   WHERE nt.pacticipant_id = lt.pacticipant_id AND nt.name = lt.name AND nt.version_id > lt.version_id AND "
            ));
            newest.append(Fragment::all(filters(selector, "n", since, true)));
            newest.push("))");
            parts.push(newest);
        }
    }
    Fragment::all(parts)
}

/// True when the version `v` may go: it has no deployment history, which is
/// the ledger's and auditors' (deleting it would cascade into them), and no
/// selector names it.
fn removable(keep: &[KeepSelector], v: &str, as_of: DateTime<Utc>) -> Fragment {
    let mut parts = vec![
        Fragment::new(format!(
            "NOT EXISTS (SELECT 1 FROM deployments hd WHERE hd.pacticipant_id = {v}.pacticipant_id AND hd.version_id = {v}.id)"
        )),
        Fragment::new(format!(
            "NOT EXISTS (SELECT 1 FROM deployed_versions hdv WHERE hdv.version_id = {v}.id)"
        )),
        Fragment::new(format!(
            "NOT EXISTS (SELECT 1 FROM released_versions hrv WHERE hrv.version_id = {v}.id)"
        )),
    ];
    for selector in keep {
        let mut not = Fragment::new("NOT (");
        not.append(names(selector, v, as_of));
        not.push(")");
        parts.push(not);
    }
    Fragment::all(parts)
}

/// Removable versions with what hangs off them, oldest first: those after
/// `after` (at most `limit`), or those among `ids`.
async fn removable_versions(
    conn: &mut Conn,
    keep: &[KeepSelector],
    as_of: DateTime<Utc>,
    range: Range<'_>,
) -> StoreResult<Vec<(i64, CleanedVersion)>> {
    let mut query = Fragment::new(
        "SELECT c.id, p.name AS pacticipant, c.number, c.created_at,
           (SELECT count(*) FROM pact_publications pp WHERE pp.consumer_version_id = c.id) AS pact_publications,
           (SELECT count(*) FROM verifications vf WHERE vf.provider_version_id = c.id) AS verifications
         FROM (SELECT v.id, v.pacticipant_id, v.number, v.created_at FROM versions v WHERE ",
    );
    let limit = match range {
        Range::After { after, limit } => {
            query.append(Fragment::new("v.id > ?").with(Arg::Int(after)));
            limit
        }
        Range::Among(ids) => {
            query.push("v.id IN (");
            query.append(id_list(ids));
            query.push(")");
            ids.len()
        }
    };
    query.push(" AND ");
    query.append(removable(keep, "v", as_of));
    query.append(
        Fragment::new(
            " ORDER BY v.id LIMIT ?) c JOIN pacticipants p ON p.id = c.pacticipant_id ORDER BY c.id",
        )
        .with(Arg::Int(i64::try_from(limit).unwrap_or(i64::MAX))),
    );
    let rows = query.query().fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|row| {
            let pacts: i64 = row.try_get("pact_publications")?;
            let verifications: i64 = row.try_get("verifications")?;
            Ok((
                row.try_get("id")?,
                CleanedVersion {
                    pacticipant: row.try_get("pacticipant")?,
                    number: row.try_get("number")?,
                    created_at: row.try_get("created_at")?,
                    pact_publications: u64::try_from(pacts).unwrap_or(0),
                    verifications: u64::try_from(verifications).unwrap_or(0),
                },
            ))
        })
        .collect()
}

#[derive(Debug, Clone, Copy)]
enum Range<'a> {
    After { after: i64, limit: usize },
    Among(&'a [i64]),
}

/// A selector naming a pacticipant or environment that does not exist is a
/// mistake that would keep less than meant: refuse it.
async fn check_names(conn: &mut Conn, keep: &[KeepSelector]) -> StoreResult<()> {
    for selector in keep {
        if let Some(pacticipant) = &selector.pacticipant {
            let found: Option<i64> =
                sqlx::query_scalar(sql("SELECT id FROM pacticipants WHERE name = ?"))
                    .bind(pacticipant.as_str())
                    .fetch_optional(&mut *conn)
                    .await?;
            if found.is_none() {
                return Err(StoreError::NotFound(format!(
                    "keep selector {selector}: no pacticipant named '{pacticipant}'"
                )));
            }
        }
        if let Some(environment) = &selector.environment {
            let found: Option<i64> =
                sqlx::query_scalar(sql("SELECT id FROM environments WHERE name = ?"))
                    .bind(environment.as_str())
                    .fetch_optional(&mut *conn)
                    .await?;
            if found.is_none() {
                return Err(StoreError::NotFound(format!(
                    "keep selector {selector}: no environment named '{environment}'"
                )));
            }
        }
    }
    Ok(())
}

/// The pact contents the versions published or verified.
async fn touched_contents(conn: &mut Conn, ids: &[i64]) -> StoreResult<Vec<i64>> {
    let mut contents = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        let mut query = Fragment::new(
            "SELECT pact_content_id FROM pact_publications WHERE consumer_version_id IN (",
        );
        query.append(id_list(chunk));
        query.push(
            ") UNION SELECT pact_content_id FROM verifications WHERE provider_version_id IN (",
        );
        query.append(id_list(chunk));
        query.push(")");
        for row in query.query().fetch_all(&mut *conn).await? {
            contents.push(row.try_get::<i64, _>(0)?);
        }
    }
    contents.sort_unstable();
    contents.dedup();
    Ok(contents)
}

/// In a dry run: how many of the contents this batch touches would be left
/// with nothing once every removable version up to `last` is gone. Each is
/// counted in the batch of the last version that refers to it.
async fn contents_left_over(
    conn: &mut Conn,
    keep: &[KeepSelector],
    as_of: DateTime<Utc>,
    ids: &[i64],
    last: i64,
) -> StoreResult<u64> {
    let contents = touched_contents(conn, ids).await?;
    let mut total = 0;
    for chunk in contents.chunks(CHUNK) {
        let mut query = Fragment::new("SELECT count(*) FROM pact_contents pc WHERE pc.id IN (");
        query.append(id_list(chunk));
        query.push(
            ") AND NOT EXISTS (SELECT 1 FROM pact_publications op JOIN versions ov ON ov.id = op.consumer_version_id
                 WHERE op.pact_content_id = pc.id AND (ov.id > ? OR NOT (",
        );
        query.args.push(Arg::Int(last));
        query.append(removable(keep, "ov", as_of));
        query.push(
            "))) AND NOT EXISTS (SELECT 1 FROM verifications ovf JOIN versions ov ON ov.id = ovf.provider_version_id
                 WHERE ovf.pact_content_id = pc.id AND (ov.id > ? OR NOT (",
        );
        query.args.push(Arg::Int(last));
        query.append(removable(keep, "ov", as_of));
        query.push(")))");
        let count: i64 = query.query().fetch_one(&mut *conn).await?.try_get(0)?;
        total += u64::try_from(count).unwrap_or(0);
    }
    Ok(total)
}

fn counts_of(removed: &[(i64, CleanedVersion)]) -> CleanCounts {
    let mut counts = CleanCounts {
        versions: removed.len() as u64,
        ..CleanCounts::default()
    };
    for (_, version) in removed {
        counts.pact_publications += version.pact_publications;
        counts.verifications += version.verifications;
    }
    counts
}

#[async_trait]
impl RetentionStore for Backend {
    async fn clean(&self, request: &CleanRequest<'_>) -> StoreResult<CleanReport> {
        let as_of = request.as_of.unwrap_or_else(now);
        let limit = usize::try_from(request.limit.max(1)).unwrap_or(usize::MAX);
        let keep = request.keep;

        // Look for the batch outside the write lock.
        let mut read = self.snapshot().await?;
        check_names(&mut read, keep).await?;
        let found = removable_versions(
            &mut read,
            keep,
            as_of,
            Range::After {
                after: request.after,
                limit,
            },
        )
        .await?;
        let next_after = if found.len() < limit {
            None
        } else {
            found.last().map(|(id, _)| *id)
        };
        let ids: Vec<i64> = found.iter().map(|(id, _)| *id).collect();

        if request.dry_run {
            let mut counts = counts_of(&found);
            if let Some(last) = ids.last() {
                counts.pact_contents =
                    contents_left_over(&mut read, keep, as_of, &ids, *last).await?;
            }
            read.rollback().await?;
            return Ok(CleanReport {
                removed: found.into_iter().map(|(_, v)| v).collect(),
                counts,
                next_after,
                as_of,
            });
        }
        read.rollback().await?;
        if ids.is_empty() {
            return Ok(CleanReport {
                removed: Vec::new(),
                counts: CleanCounts::default(),
                next_after,
                as_of,
            });
        }

        let mut tx = self.begin().await?;
        // What was removable a moment ago may have been deployed or tagged since.
        let removed = removable_versions(&mut tx, keep, as_of, Range::Among(&ids)).await?;
        let ids: Vec<i64> = removed.iter().map(|(id, _)| *id).collect();
        let mut counts = counts_of(&removed);
        if !ids.is_empty() {
            let mut heads = Vec::new();
            for chunk in ids.chunks(CHUNK) {
                let mut query = Fragment::new(
                    "SELECT DISTINCT b.id FROM branch_versions bv JOIN branches b ON b.id = bv.branch_id
                     WHERE b.head_version_id = bv.version_id AND bv.version_id IN (",
                );
                query.append(id_list(chunk));
                query.push(")");
                for row in query.query().fetch_all(&mut *tx).await? {
                    heads.push(row.try_get::<i64, _>(0)?);
                }
            }
            let contents = touched_contents(&mut tx, &ids).await?;
            for chunk in ids.chunks(CHUNK) {
                let mut delete = Fragment::new("DELETE FROM versions WHERE id IN (");
                delete.append(id_list(chunk));
                delete.push(")");
                delete.query().execute(&mut *tx).await?;
            }
            // Their branches' heads went with them (ON DELETE SET NULL).
            rows::recompute_branch_heads(&mut tx, &heads).await?;
            for chunk in contents.chunks(CHUNK) {
                let mut delete = Fragment::new("DELETE FROM pact_contents WHERE id IN (");
                delete.append(id_list(chunk));
                delete.push(
                    ") AND NOT EXISTS (SELECT 1 FROM pact_publications pp WHERE pp.pact_content_id = pact_contents.id)
                       AND NOT EXISTS (SELECT 1 FROM verifications vf WHERE vf.pact_content_id = pact_contents.id)",
                );
                counts.pact_contents += delete.query().execute(&mut *tx).await?.rows_affected();
            }
        }
        tx.commit().await?;
        Ok(CleanReport {
            removed: removed.into_iter().map(|(_, v)| v).collect(),
            counts,
            next_after,
            as_of,
        })
    }
}
