//! The district API: learners' records, mastery and engagement, class rollups from the imported
//! roster, and the imports themselves. JSON in and out (CSV for imports), HTTP Basic with the
//! LRS's credentials, each credential seeing its own tenant. Every answer is a typed struct, and
//! every route is registered with its description (`utoipa`): [`serve_document`] serves the
//! OpenAPI document of the whole process, the LRS's routes included, at
//! `GET /district/openapi.json`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use learnstream_http::{
    ApiError, Authenticated, BodyGuard, Credentials, ErrorBody, ErrorCode, OPERATIONS_TAG,
    XAPI_TAG, cors_layer, guard_body, media, track_http,
};
use learnstream_store::StatementStore;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, IntoResponses, Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::evidence::{Alignment, Alignments};
use crate::import::{self, ImportError};
use crate::mastery::MethodName;
use crate::report::{self, CompetencyMastery, EngagementReport, by_learner};
use learnstream_store::{ClassStudent, LearnerStatement, PageEntry, RosterClass};

use crate::store::AnalyticsStore;
use crate::{AnalyticsConfig, Error};

/// Where the API document is served.
pub const DOCUMENT_PATH: &str = "/district/openapi.json";
const DISTRICT_TAG: &str = "district";
const ROSTER_TAG: &str = "roster";
const DEFAULT_PAGE: u64 = 100;
const MAX_PAGE: u64 = 1000;

/// The errors of a read that takes parameters.
#[derive(IntoResponses)]
#[allow(
    dead_code,
    reason = "describes the error answers; handlers answer ApiError"
)]
enum ReadErrors {
    /// A parameter is invalid; the message names it.
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// No or wrong credentials.
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// ClickHouse cannot answer now; retry.
    #[response(status = 503)]
    Unavailable(ErrorBody),
}

/// The errors of a read of a class: [`ReadErrors`], and 404 for a class the roster lacks.
#[derive(IntoResponses)]
#[allow(
    dead_code,
    reason = "describes the error answers; handlers answer ApiError"
)]
enum ClassReadErrors {
    /// A parameter is invalid; the message names it.
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// No or wrong credentials.
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// No such class in the imported roster.
    #[response(status = 404)]
    NotFound(ErrorBody),
    /// ClickHouse cannot answer now; retry.
    #[response(status = 503)]
    Unavailable(ErrorBody),
}

/// The errors of a read without parameters.
#[derive(IntoResponses)]
#[allow(
    dead_code,
    reason = "describes the error answers; handlers answer ApiError"
)]
enum ListErrors {
    /// No or wrong credentials.
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// ClickHouse cannot answer now; retry.
    #[response(status = 503)]
    Unavailable(ErrorBody),
}

/// The errors of an import.
#[derive(IntoResponses)]
#[allow(
    dead_code,
    reason = "describes the error answers; handlers answer ApiError"
)]
enum ImportErrors {
    /// The file has an error; the message names the line and column.
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// No or wrong credentials.
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// The body is not text/csv.
    #[response(status = 415)]
    UnsupportedMediaType(ErrorBody),
    /// ClickHouse cannot take the import now; retry.
    #[response(status = 503)]
    Unavailable(ErrorBody),
}

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

/// The API document's frame: what the API is, how it authenticates, its tags. The routes'
/// operations are added by the routers that serve them.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "learnstream API",
        version = "1.0.0",
        description = "An xAPI Learning Record Store (the xAPI Statement and About resources, conformant to xAPI 1.0.3 and 2.0) and the district API: learners' records, mastery per competency and engagement, per learner and per class, computed from the statements the LRS stores. HTTP Basic with the LRS's credentials; each credential sees its own tenant. Changes of mastery are also published on Kafka (schemas/kafka/mastery-changed.v1.schema.json).",
    ),
    servers((url = "/")),
    security(("basic" = [])),
    paths(openapi_document),
    components(schemas(ErrorBody)),
    modifiers(&BasicAuth),
    tags(
        (name = XAPI_TAG, description = "The LRS: statements in and out (xAPI Communication 2.1) and the About resource"),
        (name = DISTRICT_TAG, description = "Learners' records, mastery and engagement, per learner and per class"),
        (name = ROSTER_TAG, description = "Imports of the roster and of the competency alignments"),
        (name = OPERATIONS_TAG, description = "Health, readiness and Prometheus metrics"),
    ),
)]
struct ApiDocument;

struct BasicAuth;

impl Modify for BasicAuth {
    fn modify(&self, document: &mut utoipa::openapi::OpenApi) {
        let components = document.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Basic).build()),
        );
    }
}

/// The district API's routes, under `/district`, described for the API document.
pub fn router(state: AnalyticsState) -> OpenApiRouter {
    OpenApiRouter::with_openapi(ApiDocument::openapi())
        .routes(routes!(learner_statements))
        .routes(routes!(learner_mastery))
        .routes(routes!(learner_engagement))
        .routes(routes!(classes))
        .routes(routes!(class_mastery))
        .routes(routes!(class_engagement))
        .routes(routes!(class_at_risk))
        .routes(routes!(alignments, put_alignments))
        .routes(routes!(put_users))
        .routes(routes!(put_classes))
        .routes(routes!(put_enrollments))
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

/// The process's router, with its API document served at [`DOCUMENT_PATH`]: `app` holds every
/// route with its description (the district API's [`router`] as its base, the LRS's and the
/// operational routes merged into it). The document's route has the district routes' CORS
/// (a browser tool on another origin reads it) and HTTP metrics.
pub fn serve_document(app: OpenApiRouter, cors_allowed_origins: &[String]) -> Router {
    let (router, document) = app.split_for_parts();
    let document = Bytes::from(
        document
            .to_pretty_json()
            .expect("the API document serializes"),
    );
    let serve = move || {
        let document = document.clone();
        async move { ([(header::CONTENT_TYPE, "application/json")], document) }
    };
    let document_route = get(serve)
        .layer(cors_layer(cors_allowed_origins, &[], &[]))
        .route_layer(middleware::from_fn(track_http))
        .layer(TraceLayer::new_for_http());
    router.route(DOCUMENT_PATH, document_route)
}

/// This document.
#[utoipa::path(
    get,
    path = "/district/openapi.json",
    tag = OPERATIONS_TAG,
    operation_id = "openapi_document",
    security(()),
    responses((status = 200, description = "The OpenAPI document of every route", body = Object, content_type = "application/json")),
)]
#[allow(
    dead_code,
    reason = "served by serve_document; the attribute describes it"
)]
async fn openapi_document() {}

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
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct Period {
    /// Only statements whose timestamp is at or after this (RFC 3339).
    #[param(format = DateTime)]
    since: Option<String>,
    /// Only statements whose timestamp is before this; mastery, engagement and risk are as of
    /// this instant (default: now).
    #[param(format = DateTime)]
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
                        .map(learnstream_xapi::unix_micros)
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
            as_of_us: until.unwrap_or_else(learnstream_xapi::now_micros),
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

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct PageParameters {
    /// Only statements whose timestamp is at or after this (RFC 3339).
    #[param(format = DateTime)]
    since: Option<String>,
    /// Only statements whose timestamp is before this (RFC 3339).
    #[param(format = DateTime)]
    until: Option<String>,
    /// Statements per page.
    #[param(minimum = 1, maximum = 1000, default = 100)]
    limit: Option<u64>,
    /// The `more` of the previous page.
    cursor: Option<String>,
}

/// One page of a learner's record.
#[derive(Serialize, ToSchema)]
struct StatementPage {
    /// xAPI statements, newest first, as stored.
    #[schema(value_type = Vec<Object>)]
    statements: Vec<Box<RawValue>>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    more: Option<String>,
}

/// A learner's record: their statements, newest first, paginated.
#[utoipa::path(
    get,
    path = "/district/learners/{learner}/statements",
    tag = DISTRICT_TAG,
    operation_id = "learner_statements",
    params(Learner, PageParameters),
    responses(
        (status = 200, description = "One page", body = StatementPage),
        ReadErrors,
    ),
)]
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

/// The path parameter naming a learner.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(
    dead_code,
    reason = "describes the path parameter; handlers take it as Path<String>"
)]
struct Learner {
    /// The learner's xAPI actor identifier, percent-encoded: mbox:mailto:ann@example.org,
    /// mbox_sha1sum:…, openid:… or account:<homePage>|<name>.
    #[param(example = "mbox:mailto:ann@example.org")]
    learner: String,
}

/// The path parameter naming a class.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(
    dead_code,
    reason = "describes the path parameter; handlers take it as Path<String>"
)]
struct ClassId {
    /// The class's OneRoster sourcedId.
    class_id: String,
}

/// A learner's mastery per competency.
#[derive(Serialize, ToSchema)]
struct LearnerMastery {
    learner: String,
    competencies: Vec<CompetencyMastery>,
}

/// A learner's mastery per competency, with its evidence.
#[utoipa::path(
    get,
    path = "/district/learners/{learner}/mastery",
    tag = DISTRICT_TAG,
    operation_id = "learner_mastery",
    params(Learner, Period),
    responses(
        (status = 200, description = "Mastery per competency with evidence", body = LearnerMastery),
        ReadErrors,
    ),
)]
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

/// A learner's engagement and at-risk flag.
#[derive(Serialize, ToSchema)]
struct LearnerEngagement {
    learner: String,
    #[serde(flatten)]
    report: EngagementReport,
}

/// A learner's engagement and whether they are at risk.
#[utoipa::path(
    get,
    path = "/district/learners/{learner}/engagement",
    tag = DISTRICT_TAG,
    operation_id = "learner_engagement",
    params(Learner, Period),
    responses(
        (status = 200, description = "Engagement", body = LearnerEngagement),
        ReadErrors,
    ),
)]
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

/// The classes of the imported roster.
#[derive(Serialize, ToSchema)]
struct Classes {
    classes: Vec<Class>,
}

/// A class of the imported roster.
#[derive(Serialize, ToSchema)]
struct Class {
    /// Its OneRoster sourcedId.
    class_id: String,
    title: String,
}

impl From<RosterClass> for Class {
    fn from(class: RosterClass) -> Self {
        Class {
            class_id: class.class_id,
            title: class.title,
        }
    }
}

/// The classes of the imported roster.
#[utoipa::path(
    get,
    path = "/district/classes",
    tag = DISTRICT_TAG,
    operation_id = "classes",
    responses(
        (status = 200, description = "Classes", body = Classes),
        ListErrors,
    ),
)]
async fn classes(
    State(state): State<AnalyticsState>,
    Authenticated(principal): Authenticated,
) -> Result<Response, ApiError> {
    let classes = state
        .store
        .roster_classes(&principal.tenant)
        .await
        .map_err(unavailable)?;
    let classes = classes.into_iter().map(Class::from).collect();
    Ok(axum::Json(Classes { classes }).into_response())
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

/// A student of a class, as the roster names them.
#[derive(Serialize, ToSchema)]
struct Student {
    /// Their OneRoster sourcedId.
    user_id: String,
    /// Their xAPI actor identifier.
    learner: String,
    given_name: String,
    family_name: String,
}

impl From<&ClassStudent> for Student {
    fn from(student: &ClassStudent) -> Self {
        Student {
            user_id: student.user_id.clone(),
            learner: student.actor_ifi.clone(),
            given_name: student.given_name.clone(),
            family_name: student.family_name.clone(),
        }
    }
}

/// How many students' mastery falls in each fifth of the scale.
const BUCKETS: [&str; 5] = ["0.0-0.2", "0.2-0.4", "0.4-0.6", "0.6-0.8", "0.8-1.0"];

#[derive(Default)]
struct CompetencyRollup {
    framework: String,
    method: MethodName,
    assessed: u64,
    mastered: u64,
    total: f64,
    buckets: [u64; 5],
}

/// A class's mastery.
#[derive(Serialize, ToSchema)]
struct ClassMastery {
    class_id: String,
    students: Vec<StudentMastery>,
    competencies: Vec<ClassCompetency>,
}

/// A student's mastery per competency.
#[derive(Serialize, ToSchema)]
struct StudentMastery {
    #[serde(flatten)]
    student: Student,
    competencies: Vec<CompetencyMastery>,
}

/// One competency across a class.
#[derive(Serialize, ToSchema)]
struct ClassCompetency {
    competency_id: String,
    framework: String,
    method: MethodName,
    /// The class's students.
    students: u64,
    /// Students with evidence of the competency.
    assessed: u64,
    mastered: u64,
    not_yet_assessed: u64,
    /// The mean value over the assessed students.
    mean_value: f64,
    /// How many assessed students' values fall in each fifth of the scale.
    distribution: Vec<Bucket>,
}

/// Students whose value falls in a range.
#[derive(Serialize, ToSchema)]
struct Bucket {
    #[schema(example = "0.8-1.0")]
    range: &'static str,
    students: u64,
}

/// A class's mastery: the distribution per competency and each student's mastery.
#[utoipa::path(
    get,
    path = "/district/classes/{class_id}/mastery",
    tag = DISTRICT_TAG,
    operation_id = "class_mastery",
    params(ClassId, Period),
    responses(
        (status = 200, description = "Class mastery", body = ClassMastery),
        ClassReadErrors,
    ),
)]
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
        students.push(StudentMastery {
            student: Student::from(student),
            competencies: mastery,
        });
    }
    let class_size = class.students.len() as u64;
    let competencies = rollups
        .into_iter()
        .map(|(competency_id, rollup)| ClassCompetency {
            competency_id,
            framework: rollup.framework,
            method: rollup.method,
            students: class_size,
            assessed: rollup.assessed,
            mastered: rollup.mastered,
            not_yet_assessed: class_size - rollup.assessed,
            mean_value: rollup.total / rollup.assessed as f64,
            distribution: BUCKETS
                .iter()
                .zip(rollup.buckets)
                .map(|(range, students)| Bucket { range, students })
                .collect(),
        })
        .collect();
    Ok(axum::Json(ClassMastery {
        class_id,
        students,
        competencies,
    })
    .into_response())
}

/// A class's engagement.
#[derive(Serialize, ToSchema)]
struct ClassEngagement {
    class_id: String,
    students: Vec<StudentEngagement>,
    days: Vec<ClassDay>,
}

/// A student's engagement.
#[derive(Serialize, ToSchema)]
struct StudentEngagement {
    #[serde(flatten)]
    student: Student,
    engagement: EngagementReport,
}

/// One day across a class.
#[derive(Serialize, ToSchema)]
struct ClassDay {
    /// `YYYY-MM-DD`, UTC.
    date: String,
    active_students: u64,
    statements: u64,
    time_on_task_seconds: f64,
}

/// A class's engagement: per student and per day.
#[utoipa::path(
    get,
    path = "/district/classes/{class_id}/engagement",
    tag = DISTRICT_TAG,
    operation_id = "class_engagement",
    params(ClassId, Period),
    responses(
        (status = 200, description = "Class engagement", body = ClassEngagement),
        ClassReadErrors,
    ),
)]
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
        students.push(StudentEngagement {
            student: Student::from(student),
            engagement: report,
        });
    }
    let days = days
        .into_iter()
        .map(
            |(date, (active_students, statements, time_on_task_seconds))| ClassDay {
                date,
                active_students,
                statements,
                time_on_task_seconds,
            },
        )
        .collect();
    Ok(axum::Json(ClassEngagement {
        class_id,
        students,
        days,
    })
    .into_response())
}

/// The students of a class at risk.
#[derive(Serialize, ToSchema)]
struct ClassAtRisk {
    class_id: String,
    /// The class's students.
    students: u64,
    at_risk: Vec<StudentAtRisk>,
}

/// A student at risk.
#[derive(Serialize, ToSchema)]
struct StudentAtRisk {
    #[serde(flatten)]
    student: Student,
    /// Why, in words: no activity, inactivity for days, a falling mastery.
    reasons: Vec<String>,
    /// Their newest statement's timestamp, RFC 3339.
    #[schema(format = DateTime)]
    last_activity: Option<String>,
}

/// The students of a class at risk, with the reasons.
#[utoipa::path(
    get,
    path = "/district/classes/{class_id}/at-risk",
    tag = DISTRICT_TAG,
    operation_id = "class_at_risk",
    params(ClassId, Period),
    responses(
        (status = 200, description = "Students at risk", body = ClassAtRisk),
        ClassReadErrors,
    ),
)]
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
            at_risk.push(StudentAtRisk {
                student: Student::from(student),
                reasons: report.risk_reasons,
                last_activity: report.engagement.last_activity,
            });
        }
    }
    Ok(axum::Json(ClassAtRisk {
        class_id,
        students: class.students.len() as u64,
        at_risk,
    })
    .into_response())
}

/// The tenant's competency alignments.
#[derive(Serialize, ToSchema)]
#[schema(as = Alignments)]
struct AlignmentList {
    alignments: Vec<Alignment>,
}

/// The tenant's competency alignments.
#[utoipa::path(
    get,
    path = "/district/alignments",
    tag = ROSTER_TAG,
    operation_id = "alignments",
    responses(
        (status = 200, description = "Alignments", body = AlignmentList),
        ListErrors,
    ),
)]
async fn alignments(
    State(state): State<AnalyticsState>,
    Authenticated(principal): Authenticated,
) -> Result<Response, ApiError> {
    let alignments = state
        .store
        .alignments(&principal.tenant)
        .await
        .map_err(unavailable)?;
    Ok(axum::Json(AlignmentList { alignments }).into_response())
}

/// How many rows an import stored, under the name of what it imported.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
enum Imported {
    Alignments(usize),
    Users(usize),
    Classes(usize),
    Enrollments(usize),
}

/// A CSV body, or 415 naming the expected type.
fn csv_body(headers: &HeaderMap, body: &str) -> Result<(), ApiError> {
    if !media::is_media_type(media::content_type(headers), "text/csv") {
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
    (imported, file): (fn(usize) -> Imported, &'static str),
    parse: impl FnOnce(&str) -> Result<Vec<T>, ImportError>,
    store: impl AsyncFnOnce(&[T]) -> crate::Result<()>,
) -> Result<Response, ApiError> {
    let body = import::utf8_text(file, body).map_err(import_error)?;
    csv_body(headers, body)?;
    let rows = parse(body).map_err(import_error)?;
    store(&rows).await.map_err(unavailable)?;
    Ok((StatusCode::OK, axum::Json(imported(rows.len()))).into_response())
}

/// Import the alignment table (activity → competency).
#[utoipa::path(
    put,
    path = "/district/alignments",
    tag = ROSTER_TAG,
    operation_id = "put_alignments",
    description = "Replaces the tenant's whole set: rows no longer listed are deleted. A file with an error is refused whole (400 naming the line and column). Columns: activity_id (an activity IRI), competency_id, framework (optional), weight (optional, above 0, default 1).",
    request_body(content = String, description = "alignments.csv", content_type = "text/csv"),
    responses(
        (status = 200, description = "Imported", body = Imported),
        ImportErrors,
    ),
)]
async fn put_alignments(
    State(state): State<AnalyticsState>,
    Authenticated(principal): Authenticated,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    import_csv(
        &headers,
        &body,
        (Imported::Alignments, "alignments.csv"),
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

/// Import OneRoster users.csv.
#[utoipa::path(
    put,
    path = "/district/roster/users",
    tag = ROSTER_TAG,
    operation_id = "put_roster_users",
    description = "Replaces the tenant's whole set: rows no longer listed are deleted. A file with an error is refused whole (400 naming the line and column). Columns: sourcedId, role, and email (the actor is mbox:mailto:<email>) or username (the actor is account:<analytics.roster_account_home_page>|<username>); givenName, familyName, status optional.",
    request_body(content = String, description = "users.csv", content_type = "text/csv"),
    responses(
        (status = 200, description = "Imported", body = Imported),
        ImportErrors,
    ),
)]
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
        (Imported::Users, "users.csv"),
        parse,
        async |rows| state.store.replace_users(&principal.tenant, rows).await,
    )
    .await
}

/// Import OneRoster classes.csv.
#[utoipa::path(
    put,
    path = "/district/roster/classes",
    tag = ROSTER_TAG,
    operation_id = "put_roster_classes",
    description = "Replaces the tenant's whole set: rows no longer listed are deleted. A file with an error is refused whole (400 naming the line and column). Columns: sourcedId, title, status (optional).",
    request_body(content = String, description = "classes.csv", content_type = "text/csv"),
    responses(
        (status = 200, description = "Imported", body = Imported),
        ImportErrors,
    ),
)]
async fn put_classes(
    State(state): State<AnalyticsState>,
    Authenticated(principal): Authenticated,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    import_csv(
        &headers,
        &body,
        (Imported::Classes, "classes.csv"),
        import::classes,
        async |rows| state.store.replace_classes(&principal.tenant, rows).await,
    )
    .await
}

/// Import OneRoster enrollments.csv.
#[utoipa::path(
    put,
    path = "/district/roster/enrollments",
    tag = ROSTER_TAG,
    operation_id = "put_roster_enrollments",
    description = "Replaces the tenant's whole set: rows no longer listed are deleted. A file with an error is refused whole (400 naming the line and column). Columns: classSourcedId, userSourcedId, role (student, teacher, …), status (optional).",
    request_body(content = String, description = "enrollments.csv", content_type = "text/csv"),
    responses(
        (status = 200, description = "Imported", body = Imported),
        ImportErrors,
    ),
)]
async fn put_enrollments(
    State(state): State<AnalyticsState>,
    Authenticated(principal): Authenticated,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    import_csv(
        &headers,
        &body,
        (Imported::Enrollments, "enrollments.csv"),
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
