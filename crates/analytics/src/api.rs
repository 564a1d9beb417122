//! The district API: learners' records, mastery and engagement, class rollups from the imported
//! roster, and the imports themselves. JSON in and out (CSV for imports), HTTP Basic with the
//! LRS's credentials, each credential seeing its own tenant. `openapi.json` beside this file
//! describes every route; it is served at `GET /district/openapi.json`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use learnstream_http::{
    ApiError, Authenticated, BodyGuard, Credentials, ErrorCode, cors_layer, guard_body, track_http,
};
use learnstream_store::StatementStore;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use tower_http::trace::TraceLayer;

use crate::evidence::Alignments;
use crate::import::{self, ImportError};
use crate::report::{self, CompetencyMastery, EngagementReport, by_learner};
use learnstream_store::{ClassStudent, LearnerStatement, PageEntry};

use crate::store::{AnalyticsStore, now_us};
use crate::{AnalyticsConfig, Error};

const OPENAPI: &str = include_str!("openapi.json");
const DEFAULT_PAGE: u64 = 100;
const MAX_PAGE: u64 = 1000;

/// What the district API needs.
#[derive(Clone)]
pub struct AnalyticsState {
    pub store: AnalyticsStore,
    pub statements: StatementStore,
    pub credentials: Credentials,
    pub config: Arc<AnalyticsConfig>,
    /// The largest CSV an import takes (`http.max_import_bytes`).
    pub max_import_bytes: usize,
    /// How long a client has to send a body (`http.body_read_timeout_ms`).
    pub body_read_timeout: std::time::Duration,
    /// Browser origins allowed to call the API (`http.cors_allowed_origins`; `*`: any).
    pub cors_allowed_origins: Vec<String>,
}

impl std::fmt::Debug for AnalyticsState {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("AnalyticsState")
            .finish_non_exhaustive()
    }
}

/// The district API's routes, under `/district`.
pub fn router(state: AnalyticsState) -> Router {
    Router::new()
        .route("/district/openapi.json", get(openapi))
        .route(
            "/district/learners/{learner}/statements",
            get(learner_statements),
        )
        .route("/district/learners/{learner}/mastery", get(learner_mastery))
        .route(
            "/district/learners/{learner}/engagement",
            get(learner_engagement),
        )
        .route("/district/classes", get(classes))
        .route("/district/classes/{class_id}/mastery", get(class_mastery))
        .route(
            "/district/classes/{class_id}/engagement",
            get(class_engagement),
        )
        .route("/district/classes/{class_id}/at-risk", get(class_at_risk))
        .route("/district/alignments", get(alignments).put(put_alignments))
        .route("/district/roster/users", put(put_users))
        .route("/district/roster/classes", put(put_classes))
        .route("/district/roster/enrollments", put(put_enrollments))
        .layer(DefaultBodyLimit::max(state.max_import_bytes))
        .layer(middleware::from_fn_with_state(
            BodyGuard::new(
                state.credentials.clone(),
                state.max_import_bytes,
                state.body_read_timeout,
            ),
            guard_body,
        ))
        // The same CORS and HTTP metrics as the LRS's routes: a dashboard in a browser on
        // another origin calls the API, and its requests count in
        // `learnstream_http_requests_total` by route.
        .layer(cors_layer(&state.cors_allowed_origins, &[], &[]))
        .route_layer(middleware::from_fn(track_http))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

impl axum::extract::FromRef<AnalyticsState> for Credentials {
    fn from_ref(state: &AnalyticsState) -> Self {
        state.credentials.clone()
    }
}

/// The query string's parameters; a mistake in them is a 400 in the JSON error shape, naming the
/// parameter, as every other error of the API.
struct Params<T>(T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::try_from_uri(&parts.uri)
            .map(|Query(parameters)| Params(parameters))
            .map_err(|rejection| {
                let text = rejection.body_text();
                let detail = text
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&text);
                ApiError::bad_request(format!("query: {detail}"))
            })
    }
}

fn unavailable(error: Error) -> ApiError {
    ApiError::unavailable("clickhouse cannot answer", &error)
}

/// `since` and `until` (RFC 3339): the statements that happened in `[since, until)`. Mastery,
/// engagement and risk are as of `until` (default now).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Period {
    since: Option<String>,
    until: Option<String>,
}

#[derive(Debug, Clone, Copy)]
struct Range {
    since_us: i64,
    until_us: i64,
    as_of_us: i64,
}

impl Period {
    fn range(&self) -> Result<Range, ApiError> {
        let parse = |name: &str, text: &Option<String>| -> Result<Option<i64>, ApiError> {
            text.as_deref()
                .map(|text| {
                    learnstream_xapi::time_parameter(name, text)
                        .map(|instant| (instant.unix_timestamp_nanos() / 1000) as i64)
                        .map_err(|_| {
                            ApiError::bad_request(format!(
                                "{name}: must be an RFC 3339 timestamp such as 2026-09-01T00:00:00Z"
                            ))
                        })
                })
                .transpose()
        };
        let since = parse("since", &self.since)?;
        let until = parse("until", &self.until)?;
        if let (Some(since), Some(until)) = (since, until)
            && since >= until
        {
            return Err(ApiError::bad_request("until: must be after since"));
        }
        Ok(Range {
            since_us: since.unwrap_or(i64::MIN),
            until_us: until.unwrap_or(i64::MAX),
            as_of_us: until.unwrap_or(now_us() as i64),
        })
    }
}

fn learner_id(learner: &str) -> Result<&str, ApiError> {
    let known = ["mbox:mailto:", "mbox_sha1sum:", "openid:", "account:"];
    if known.iter().any(|prefix| learner.starts_with(prefix)) {
        Ok(learner)
    } else {
        Err(ApiError::bad_request(
            "learner: must be an actor identifier: mbox:mailto:…, mbox_sha1sum:…, openid:… or account:<homePage>|<name> (percent-encoded in the path)",
        ))
    }
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageParameters {
    since: Option<String>,
    until: Option<String>,
    limit: Option<u64>,
    /// The `more` of the previous page.
    cursor: Option<String>,
}

#[derive(Serialize)]
struct StatementPage {
    statements: Vec<Box<RawValue>>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    more: Option<String>,
}

async fn learner_statements(
    State(state): State<AnalyticsState>,
    Authenticated(principal): Authenticated,
    Path(learner): Path<String>,
    Params(parameters): Params<PageParameters>,
) -> Result<Response, ApiError> {
    let learner = learner_id(&learner)?;
    let range = Period {
        since: parameters.since,
        until: parameters.until,
    }
    .range()?;
    let limit = parameters.limit.unwrap_or(DEFAULT_PAGE);
    if limit == 0 || limit > MAX_PAGE {
        return Err(ApiError::bad_request(format!(
            "limit: must be between 1 and {MAX_PAGE}"
        )));
    }
    let cursor = parameters.cursor.as_deref().map(parse_cursor).transpose()?;
    let (before, width) = cursor.map_or((None, 0), |(entry, width)| (Some(entry), width));
    let found = state
        .store
        .learner_statement_page(
            &principal.tenant,
            learner,
            (range.since_us, range.until_us),
            before.as_ref(),
            width,
            limit + 1,
        )
        .await
        .map_err(unavailable)?;
    let page = found.rows;
    let more = (page.len() as u64 > limit).then(|| {
        let last = &page[limit as usize - 1];
        format!("{}_{}_{}", last.timestamp_us, last.id, found.width)
    });
    let shown = &page[..page.len().min(limit as usize)];
    let ids: Vec<uuid::Uuid> = shown
        .iter()
        .filter_map(|entry| uuid::Uuid::parse_str(&entry.id).ok())
        .collect();
    let found = state
        .statements
        .statements_by_ids(&principal.tenant, &ids)
        .await
        .map_err(|error| ApiError::unavailable("clickhouse cannot answer", &error))?;
    let by_id: BTreeMap<&str, &str> = found
        .iter()
        .map(|stored| (stored.id.as_str(), stored.raw.as_str()))
        .collect();
    let statements = shown
        .iter()
        .filter_map(|entry| by_id.get(entry.id.as_str()))
        .map(|raw| RawValue::from_string((*raw).to_owned()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| ApiError::internal("a stored statement is not JSON", &error))?;
    Ok(axum::Json(StatementPage { statements, more }).into_response())
}

/// A `cursor`: where the previous page ended, `{timestamp µs}_{id}`, and how wide its last window
/// of `timestamp` was, `_{µs}` (optional: older cursors have none).
fn parse_cursor(cursor: &str) -> Result<(PageEntry, u64), ApiError> {
    let invalid = || ApiError::bad_request("cursor: must be the `more` of a previous page");
    let mut parts = cursor.split('_');
    let (Some(timestamp), Some(id), width, None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid());
    };
    let timestamp_us = timestamp.parse().map_err(|_| invalid())?;
    let id = uuid::Uuid::parse_str(id).map_err(|_| invalid())?;
    let width = width.map_or(Ok(0), str::parse).map_err(|_| invalid())?;
    Ok((
        PageEntry {
            timestamp_us,
            id: id.hyphenated().to_string(),
        },
        width,
    ))
}

/// One learner's statements in the period, with the tenant's alignments.
async fn read_learners(
    state: &AnalyticsState,
    tenant: &str,
    learners: &[String],
    range: Range,
) -> Result<(Vec<LearnerStatement>, Alignments), ApiError> {
    let (statements, alignments) = futures::try_join!(
        state
            .store
            .learner_statements(tenant, learners, range.since_us, range.until_us),
        state.store.alignments(tenant),
    )
    .map_err(unavailable)?;
    Ok((statements, Alignments::new(alignments)))
}

#[derive(Serialize)]
struct LearnerMastery {
    learner: String,
    competencies: Vec<CompetencyMastery>,
}

async fn learner_mastery(
    State(state): State<AnalyticsState>,
    Authenticated(principal): Authenticated,
    Path(learner): Path<String>,
    Params(period): Params<Period>,
) -> Result<Response, ApiError> {
    let learner = learner_id(&learner)?.to_owned();
    let range = period.range()?;
    let (statements, alignments) = read_learners(
        &state,
        &principal.tenant,
        std::slice::from_ref(&learner),
        range,
    )
    .await?;
    let competencies = report::mastery(&statements, &alignments, &state.config);
    Ok(axum::Json(LearnerMastery {
        learner,
        competencies,
    })
    .into_response())
}

/// One learner's engagement; risk also reads their mastery's trend.
fn engagement_report(
    state: &AnalyticsState,
    statements: &[LearnerStatement],
    alignments: &Alignments,
    as_of_us: i64,
) -> EngagementReport {
    let mastery = report::mastery(statements, alignments, &state.config);
    report::engagement(statements, &mastery, &state.config, as_of_us)
}

#[derive(Serialize)]
struct LearnerEngagement {
    learner: String,
    #[serde(flatten)]
    report: EngagementReport,
}

async fn learner_engagement(
    State(state): State<AnalyticsState>,
    Authenticated(principal): Authenticated,
    Path(learner): Path<String>,
    Params(period): Params<Period>,
) -> Result<Response, ApiError> {
    let learner = learner_id(&learner)?.to_owned();
    let range = period.range()?;
    let (statements, alignments) = read_learners(
        &state,
        &principal.tenant,
        std::slice::from_ref(&learner),
        range,
    )
    .await?;
    let report = engagement_report(&state, &statements, &alignments, range.as_of_us);
    Ok(axum::Json(LearnerEngagement { learner, report }).into_response())
}

async fn classes(
    State(state): State<AnalyticsState>,
    Authenticated(principal): Authenticated,
) -> Result<Response, ApiError> {
    let classes = state
        .store
        .roster_classes(&principal.tenant)
        .await
        .map_err(unavailable)?;
    Ok(axum::Json(json!({ "classes": classes })).into_response())
}

/// A class's students, each with their statements in the period.
struct ClassData {
    students: Vec<ClassStudent>,
    statements: Vec<LearnerStatement>,
    alignments: Alignments,
}

impl ClassData {
    async fn read(
        state: &AnalyticsState,
        tenant: &str,
        class_id: &str,
        range: Range,
    ) -> Result<ClassData, ApiError> {
        let students = state
            .store
            .class_students(tenant, class_id)
            .await
            .map_err(unavailable)?;
        if students.is_empty() {
            let classes = state
                .store
                .roster_classes(tenant)
                .await
                .map_err(unavailable)?;
            if !classes.iter().any(|class| class.class_id == class_id) {
                return Err(ApiError::new(
                    ErrorCode::NotFound,
                    format!("class_id: no class {class_id:?} in the imported roster"),
                ));
            }
        }
        let actors: Vec<String> = students
            .iter()
            .map(|student| student.actor_ifi.clone())
            .collect();
        let (statements, alignments) = read_learners(state, tenant, &actors, range).await?;
        Ok(ClassData {
            students,
            statements,
            alignments,
        })
    }

    /// Each student with their statements (none if they have none in the period).
    fn per_student(&self) -> Vec<(&ClassStudent, &[LearnerStatement])> {
        let by_actor: BTreeMap<&str, &[LearnerStatement]> =
            by_learner(&self.statements).into_iter().collect();
        self.students
            .iter()
            .map(|student| {
                (
                    student,
                    by_actor
                        .get(student.actor_ifi.as_str())
                        .copied()
                        .unwrap_or_default(),
                )
            })
            .collect()
    }
}

fn student_json(student: &ClassStudent) -> Value {
    json!({
        "user_id": student.user_id,
        "learner": student.actor_ifi,
        "given_name": student.given_name,
        "family_name": student.family_name,
    })
}

/// How many students' mastery falls in each fifth of the scale.
const BUCKETS: [&str; 5] = ["0.0-0.2", "0.2-0.4", "0.4-0.6", "0.6-0.8", "0.8-1.0"];

#[derive(Default)]
struct CompetencyRollup {
    framework: String,
    method: &'static str,
    assessed: u64,
    mastered: u64,
    total: f64,
    buckets: [u64; 5],
}

async fn class_mastery(
    State(state): State<AnalyticsState>,
    Authenticated(principal): Authenticated,
    Path(class_id): Path<String>,
    Params(period): Params<Period>,
) -> Result<Response, ApiError> {
    let range = period.range()?;
    let class = ClassData::read(&state, &principal.tenant, &class_id, range).await?;
    let mut rollups: BTreeMap<String, CompetencyRollup> = BTreeMap::new();
    let mut students = Vec::new();
    for (student, statements) in class.per_student() {
        let mastery = report::mastery(statements, &class.alignments, &state.config);
        for competency in &mastery {
            let rollup = rollups.entry(competency.competency_id.clone()).or_default();
            competency.framework.clone_into(&mut rollup.framework);
            rollup.method = competency.method;
            rollup.assessed += 1;
            rollup.mastered += u64::from(competency.mastered);
            rollup.total += competency.value;
            let bucket = ((competency.value.clamp(0.0, 1.0) * 5.0) as usize).min(4);
            rollup.buckets[bucket] += 1;
        }
        let mut entry = student_json(student);
        entry["competencies"] = json!(mastery);
        students.push(entry);
    }
    let competencies: Vec<Value> = rollups
        .into_iter()
        .map(|(competency_id, rollup)| {
            json!({
                "competency_id": competency_id,
                "framework": rollup.framework,
                "method": rollup.method,
                "students": class.students.len(),
                "assessed": rollup.assessed,
                "mastered": rollup.mastered,
                "not_yet_assessed": class.students.len() as u64 - rollup.assessed,
                "mean_value": rollup.total / rollup.assessed as f64,
                "distribution": BUCKETS.iter().zip(rollup.buckets).map(|(range, count)| {
                    json!({"range": range, "students": count})
                }).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(axum::Json(json!({
        "class_id": class_id,
        "students": students,
        "competencies": competencies,
    }))
    .into_response())
}

async fn class_engagement(
    State(state): State<AnalyticsState>,
    Authenticated(principal): Authenticated,
    Path(class_id): Path<String>,
    Params(period): Params<Period>,
) -> Result<Response, ApiError> {
    let range = period.range()?;
    let class = ClassData::read(&state, &principal.tenant, &class_id, range).await?;
    let mut students = Vec::new();
    let mut days: BTreeMap<String, (u64, u64, f64)> = BTreeMap::new();
    for (student, statements) in class.per_student() {
        let report = engagement_report(&state, statements, &class.alignments, range.as_of_us);
        for day in &report.engagement.days {
            let totals = days.entry(day.date.clone()).or_default();
            totals.0 += 1;
            totals.1 += day.statements;
            totals.2 += day.time_on_task_seconds;
        }
        let mut entry = student_json(student);
        entry["engagement"] = json!(report);
        students.push(entry);
    }
    let days: Vec<Value> = days
        .into_iter()
        .map(|(date, (active_students, statements, seconds))| {
            json!({
                "date": date,
                "active_students": active_students,
                "statements": statements,
                "time_on_task_seconds": seconds,
            })
        })
        .collect();
    Ok(axum::Json(json!({
        "class_id": class_id,
        "students": students,
        "days": days,
    }))
    .into_response())
}

async fn class_at_risk(
    State(state): State<AnalyticsState>,
    Authenticated(principal): Authenticated,
    Path(class_id): Path<String>,
    Params(period): Params<Period>,
) -> Result<Response, ApiError> {
    let range = period.range()?;
    let class = ClassData::read(&state, &principal.tenant, &class_id, range).await?;
    let mut at_risk = Vec::new();
    for (student, statements) in class.per_student() {
        let report = engagement_report(&state, statements, &class.alignments, range.as_of_us);
        if report.at_risk {
            let mut entry = student_json(student);
            entry["reasons"] = json!(report.risk_reasons);
            entry["last_activity"] = json!(report.engagement.last_activity);
            at_risk.push(entry);
        }
    }
    Ok(axum::Json(json!({
        "class_id": class_id,
        "students": class.students.len(),
        "at_risk": at_risk,
    }))
    .into_response())
}

async fn alignments(
    State(state): State<AnalyticsState>,
    Authenticated(principal): Authenticated,
) -> Result<Response, ApiError> {
    let alignments = state
        .store
        .alignments(&principal.tenant)
        .await
        .map_err(unavailable)?;
    Ok(axum::Json(json!({ "alignments": alignments })).into_response())
}

/// A CSV body, or 415 naming the expected type.
fn csv_body(headers: &HeaderMap, body: &str) -> Result<(), ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("text/csv") {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "Content-Type: must be text/csv",
        ));
    }
    if body.trim().is_empty() {
        return Err(ApiError::bad_request(
            "body: must be a CSV file with a header line",
        ));
    }
    Ok(())
}

fn import_error(error: ImportError) -> ApiError {
    ApiError::bad_request(error.to_string())
}

/// Checks a CSV body, parses it whole, stores it, and answers how many rows were imported. A
/// file with an error stores nothing.
async fn import_csv<T>(
    headers: &HeaderMap,
    body: &[u8],
    (what, file): (&'static str, &'static str),
    parse: impl FnOnce(&str) -> Result<Vec<T>, ImportError>,
    store: impl AsyncFnOnce(&[T]) -> crate::Result<()>,
) -> Result<Response, ApiError> {
    let body = import::utf8_text(file, body).map_err(import_error)?;
    csv_body(headers, body)?;
    let rows = parse(body).map_err(import_error)?;
    store(&rows).await.map_err(unavailable)?;
    Ok((StatusCode::OK, axum::Json(json!({ what: rows.len() }))).into_response())
}

async fn put_alignments(
    State(state): State<AnalyticsState>,
    Authenticated(principal): Authenticated,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    import_csv(
        &headers,
        &body,
        ("alignments", "alignments.csv"),
        import::alignments,
        async |rows| {
            state
                .store
                .replace_alignments(&principal.tenant, rows)
                .await
        },
    )
    .await
}

async fn put_users(
    State(state): State<AnalyticsState>,
    Authenticated(principal): Authenticated,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let home_page = &state.config.roster_account_home_page;
    let parse = |text: &str| import::users(text, home_page);
    import_csv(
        &headers,
        &body,
        ("users", "users.csv"),
        parse,
        async |rows| state.store.replace_users(&principal.tenant, rows).await,
    )
    .await
}

async fn put_classes(
    State(state): State<AnalyticsState>,
    Authenticated(principal): Authenticated,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    import_csv(
        &headers,
        &body,
        ("classes", "classes.csv"),
        import::classes,
        async |rows| state.store.replace_classes(&principal.tenant, rows).await,
    )
    .await
}

async fn put_enrollments(
    State(state): State<AnalyticsState>,
    Authenticated(principal): Authenticated,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    import_csv(
        &headers,
        &body,
        ("enrollments", "enrollments.csv"),
        import::enrollments,
        async |rows| {
            state
                .store
                .replace_enrollments(&principal.tenant, rows)
                .await
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    /// Every route the router serves is in the OpenAPI document, and nothing else is.
    #[test]
    fn the_openapi_document_describes_every_route() {
        let document: serde_json::Value = serde_json::from_str(super::OPENAPI).unwrap();
        let documented: BTreeSet<&str> = document["paths"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let source = include_str!("api.rs");
        let routed: BTreeSet<&str> = source
            .split(".route(")
            .skip(1)
            .filter_map(|rest| rest.trim_start().strip_prefix('"'))
            .filter_map(|rest| rest.split('"').next())
            .filter(|path| path.starts_with("/district/"))
            .collect();
        assert_eq!(documented, routed);
    }
}
