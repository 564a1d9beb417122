//! `GET` (and `HEAD`) of the Statement Resource (Communication 2.1.3): one statement by
//! `statementId` or `voidedStatementId`, or a page of a filtered query with a `more` link.
//!
//! Pages are ordered by `stored` and continue after the last statement of the previous page
//! (keyset paging). The first page fixes the query's upper bound at the request's
//! Consistent-Through unless `until` is earlier, and the `more` token carries it: every
//! statement stored before that bound is readable, so later pages neither skip nor repeat a
//! statement while new ones arrive.

use axum::extract::{Query, State};
use axum::http::header::{ACCEPT_LANGUAGE, CONTENT_TYPE, LAST_MODIFIED};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use learnstream_store::{PagePosition, PageQuery, PageRow, StoredAttachment};
use learnstream_xapi::{
    LanguagePreference, Statement, StatementFormat, XapiVersion, agent_parameter, format_statement,
    iri_parameter, time_parameter, uuid_parameter,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::state::AppState;
use crate::statements::request_version;
use learnstream_http::Authenticated;
use learnstream_http::{ApiError, ErrorBody, ErrorCode};

/// The most statements a page holds; `limit=0` or no `limit` asks for this many.
pub(crate) const MAX_PAGE_STATEMENTS: u64 = 500;

/// `GET /xapi/statements`.
#[utoipa::path(
    get,
    path = "/xapi/statements",
    tag = learnstream_http::XAPI_TAG,
    operation_id = "xapi_get_statements",
    summary = "One statement by id, or a page of statements (xAPI Statement Resource)",
    description = "With `statementId` or `voidedStatementId`: that statement. Otherwise a StatementResult of the statements the filters match, newest stored first, with a `more` link to the next page. `attachments=true` answers multipart/mixed with the attachments' content.",
    params(
        ("X-Experience-API-Version" = String, Header, description = "The xAPI version of the request: 1.0.x or 2.0.0."),
        ("statementId" = Option<String>, Query, description = "One statement by id."),
        ("voidedStatementId" = Option<String>, Query, description = "One voided statement by id."),
        ("agent" = Option<String>, Query, description = "An Agent or identified Group (JSON): statements whose actor or object it is."),
        ("verb" = Option<String>, Query, description = "A verb IRI."),
        ("activity" = Option<String>, Query, description = "An activity IRI: statements whose object it is."),
        ("registration" = Option<String>, Query, description = "A registration UUID."),
        ("related_activities" = Option<bool>, Query, description = "`activity` also matches context activities and sub-statements."),
        ("related_agents" = Option<bool>, Query, description = "`agent` also matches the authority, context agents and sub-statements."),
        ("since" = Option<String>, Query, description = "Only statements stored after this (RFC 3339)."),
        ("until" = Option<String>, Query, description = "Only statements stored at or before this (RFC 3339)."),
        ("limit" = Option<u64>, Query, description = "At most this many statements (0 or absent: the server's maximum, 500)."),
        ("format" = Option<String>, Query, description = "`exact`, `ids` or `canonical`."),
        ("attachments" = Option<bool>, Query, description = "Answer multipart/mixed with the attachments."),
        ("ascending" = Option<bool>, Query, description = "Oldest stored first."),
    ),
    responses(
        (status = 200, description = "The statement, or a StatementResult", body = serde_json::Value),
        (status = 400, description = "A parameter breaks a rule of xAPI", body = ErrorBody),
        (status = 401, description = "No or wrong credentials", body = ErrorBody),
        (status = 404, description = "No statement with that id", body = ErrorBody),
        (status = 503, description = "ClickHouse cannot answer now; retry", body = ErrorBody),
    ),
)]
pub(crate) async fn get_statements(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    headers: HeaderMap,
    Query(parameters): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let version = request_version(&headers)?;
    let languages = headers
        .get(ACCEPT_LANGUAGE)
        .and_then(|value| value.to_str().ok())
        .map(LanguagePreference::from_header)
        .unwrap_or_default();
    match Request::parse(&parameters, version)? {
        Request::One { id, voided, output } => {
            let stored = state
                .store_gate()
                .read(
                    "the statement store cannot be read",
                    state.store().statement_by_id(&principal.tenant, id),
                )
                .await?;
            let parameter = if voided {
                "voidedStatementId"
            } else {
                "statementId"
            };
            let Some(stored) = stored.filter(|stored| stored.voided == voided) else {
                let what = if voided {
                    "voided statement"
                } else {
                    "statement"
                };
                return Err(ApiError::new(
                    ErrorCode::NotFound,
                    format!("{parameter}: no {what} {id}"),
                ));
            };
            let json = output.render(&stored.raw, &languages)?;
            let last_modified = stored_time(&json);
            let parts = attachment_parts(&state, &principal.tenant, output, [&stored.raw]).await?;
            Ok(output.respond(json, last_modified, &parts))
        }
        Request::Page { page, output } => {
            let consistent_through = state.progress().consistent_through();
            let page = page.bounded_by(consistent_through);
            let query = page.query(&principal.tenant);
            let mut found = state
                .store_gate()
                .read(
                    "the statement store cannot be read",
                    state.store().page(&query),
                )
                .await?;
            let more = if found.rows.len() as u64 > page.limit() {
                found.rows.truncate(page.limit() as usize);
                found.end().map(|end| page.more_token(end, output))
            } else {
                None
            };
            let rows = found.rows;
            let mut statements = Vec::with_capacity(rows.len());
            for row in &rows {
                statements.push(output.render(&row.raw, &languages)?);
            }
            let last_modified = rows
                .iter()
                .map(|row: &PageRow| row.stored_us)
                .max()
                .and_then(|micros| {
                    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000).ok()
                });
            let more = more
                .map(|token| format!("/xapi/statements?more={token}"))
                .unwrap_or_default();
            let body = format!(
                "{{\"statements\":[{}],\"more\":{}}}",
                statements.join(","),
                serde_json::Value::String(more)
            );
            let raws = rows.iter().map(|row| &row.raw);
            let parts = attachment_parts(&state, &principal.tenant, output, raws).await?;
            Ok(output.respond(body, last_modified, &parts))
        }
    }
}

/// What a `GET` asks for.
#[derive(Debug, PartialEq)]
enum Request {
    One {
        id: Uuid,
        /// By `voidedStatementId`: only a voided statement answers.
        voided: bool,
        output: Output,
    },
    Page {
        page: Page,
        output: Output,
    },
}

/// How statements are written in the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Output {
    #[serde(with = "format_name")]
    format: StatementFormat,
    /// `attachments=true`: a `multipart/mixed` answer.
    attachments: bool,
}

/// A page query: what a `more` token carries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Page {
    verb: String,
    registration: String,
    agent: String,
    related_agents: bool,
    activity: String,
    related_activities: bool,
    since_us: u64,
    until_us: Option<u64>,
    ascending: bool,
    limit: u64,
    after: Option<PagePosition>,
}

/// Parameters that filter or page, which a single-statement request must not carry.
const PAGE_PARAMETERS: [&str; 10] = [
    "agent",
    "verb",
    "activity",
    "registration",
    "related_activities",
    "related_agents",
    "since",
    "until",
    "limit",
    "ascending",
];

impl Request {
    fn parse(parameters: &[(String, String)], version: XapiVersion) -> Result<Request, ApiError> {
        let mut seen: Vec<&str> = Vec::with_capacity(parameters.len());
        for (name, _) in parameters {
            if seen.contains(&name.as_str()) {
                return Err(ApiError::bad_request(format!(
                    "{name}: is given more than once"
                )));
            }
            seen.push(name);
        }
        let value = |name: &str| {
            parameters
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.as_str())
        };
        if let Some(token) = value("more") {
            if parameters.len() > 1 {
                return Err(ApiError::bad_request(
                    "more: a more link carries the whole query; send it alone",
                ));
            }
            return Page::from_token(token);
        }
        for (name, _) in parameters {
            let known = PAGE_PARAMETERS.contains(&name.as_str())
                || ["statementId", "voidedStatementId", "format", "attachments"]
                    .contains(&name.as_str());
            if !known {
                return Err(ApiError::bad_request(format!(
                    "{name}: is not a parameter of the Statement Resource"
                )));
            }
        }
        let output = Output {
            format: value("format")
                .map(str::parse)
                .transpose()?
                .unwrap_or_default(),
            attachments: boolean(value, "attachments")?,
        };
        let single = match (value("statementId"), value("voidedStatementId")) {
            (Some(_), Some(_)) => {
                return Err(ApiError::bad_request(
                    "statementId, voidedStatementId: give one or the other",
                ));
            }
            (Some(id), None) => Some(("statementId", uuid_parameter("statementId", id)?, false)),
            (None, Some(id)) => Some((
                "voidedStatementId",
                uuid_parameter("voidedStatementId", id)?,
                true,
            )),
            (None, None) => None,
        };
        if let Some((name, id, voided)) = single {
            if let Some(extra) = PAGE_PARAMETERS.iter().find(|extra| value(extra).is_some()) {
                return Err(ApiError::bad_request(format!(
                    "{extra}: cannot be combined with {name}, which asks for one statement"
                )));
            }
            return Ok(Request::One { id, voided, output });
        }
        let limit = match value("limit") {
            None => 0,
            Some(text) => text.parse::<u64>().map_err(|_| {
                ApiError::bad_request(format!(
                    "limit: must be a whole number 0 or above, got {text:?}"
                ))
            })?,
        };
        let page = Page {
            verb: value("verb")
                .map(|verb| iri_parameter("verb", verb))
                .transpose()?
                .unwrap_or_default(),
            registration: value("registration")
                .map(|id| uuid_parameter("registration", id).map(|id| id.hyphenated().to_string()))
                .transpose()?
                .unwrap_or_default(),
            agent: value("agent")
                .map(|agent| agent_parameter(agent, version))
                .transpose()?
                .unwrap_or_default(),
            related_agents: boolean(value, "related_agents")?,
            activity: value("activity")
                .map(|activity| iri_parameter("activity", activity))
                .transpose()?
                .unwrap_or_default(),
            related_activities: boolean(value, "related_activities")?,
            since_us: value("since")
                .map(|since| time_parameter("since", since).map(stored_micros))
                .transpose()?
                .unwrap_or(0),
            until_us: value("until")
                .map(|until| time_parameter("until", until).map(stored_micros))
                .transpose()?,
            ascending: boolean(value, "ascending")?,
            limit: if limit == 0 {
                MAX_PAGE_STATEMENTS
            } else {
                limit.min(MAX_PAGE_STATEMENTS)
            },
            after: None,
        };
        Ok(Request::Page { page, output })
    }
}

/// The token of a `more` link: the page query and output, as JSON in URL-safe base64.
#[derive(Serialize, Deserialize)]
struct MoreToken {
    page: Page,
    output: Output,
}

impl Page {
    fn from_token(token: &str) -> Result<Request, ApiError> {
        let invalid = || ApiError::bad_request("more: is not a more link this LRS gave out");
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
        let MoreToken { page, output } = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        // A token is the client's to keep, and so to edit: its limit is held to the cap too.
        if page.after.is_none()
            || page.until_us.is_none()
            || page.limit == 0
            || page.limit > MAX_PAGE_STATEMENTS
        {
            return Err(invalid());
        }
        Ok(Request::Page { page, output })
    }

    /// Bounds the query at `consistent_through` unless it already ends earlier.
    fn bounded_by(mut self, consistent_through: OffsetDateTime) -> Page {
        let bound = stored_micros(consistent_through);
        self.until_us = Some(self.until_us.map_or(bound, |until| until.min(bound)));
        self
    }

    fn limit(&self) -> u64 {
        self.limit
    }

    /// The token of the link to the page after `position`, written as `output` asks.
    fn more_token(&self, position: PagePosition, output: Output) -> String {
        let mut page = self.clone();
        page.after = Some(position);
        let token = MoreToken { page, output };
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&token).expect("a token always serializes"))
    }

    fn query(&self, tenant: &str) -> PageQuery {
        let (agent, related_agent) = split(&self.agent, self.related_agents);
        let (activity, related_activity) = split(&self.activity, self.related_activities);
        PageQuery {
            tenant: tenant.to_owned(),
            since_us: self.since_us,
            until_us: self.until_us.unwrap_or(u64::MAX),
            verb: self.verb.clone(),
            registration: self.registration.clone(),
            agent,
            related_agent,
            activity,
            related_activity,
            ascending: self.ascending,
            after: self.after.clone(),
            // One more than the page, to know whether there is a next one.
            limit: self.limit + 1,
        }
    }
}

/// A filter value goes to the plain or the related column, never both.
fn split(value: &str, related: bool) -> (String, String) {
    if related {
        (String::new(), value.to_owned())
    } else {
        (value.to_owned(), String::new())
    }
}

impl Output {
    /// A stored statement as the format asks for it.
    fn render(&self, raw: &str, languages: &LanguagePreference) -> Result<String, ApiError> {
        if self.format == StatementFormat::Exact {
            return Ok(raw.to_owned());
        }
        let statement: Statement<'_> = serde_json::from_str(raw)
            .map_err(|error| ApiError::internal("a stored statement does not parse", &error))?;
        let formatted = format_statement(&statement, self.format, languages);
        serde_json::to_string(&formatted)
            .map_err(|error| ApiError::internal("a statement does not serialize", &error))
    }

    fn respond(
        &self,
        json: String,
        last_modified: Option<OffsetDateTime>,
        parts: &[StoredAttachment],
    ) -> Response {
        let mut response = if self.attachments {
            // The statements, then each attachment the statements name and the LRS holds.
            let boundary = Uuid::new_v4().simple().to_string();
            let mut body = Vec::with_capacity(
                json.len()
                    + parts
                        .iter()
                        .map(|part| part.data.len() + 256)
                        .sum::<usize>(),
            );
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Type: application/json\r\n\r\n").as_bytes(),
            );
            body.extend_from_slice(json.as_bytes());
            for part in parts {
                body.extend_from_slice(
                    format!(
                        "\r\n--{boundary}\r\nContent-Type: {}\r\nContent-Transfer-Encoding: binary\r\nX-Experience-API-Hash: {}\r\n\r\n",
                        part.content_type, part.sha2
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(&part.data);
            }
            body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
            let content_type = format!("multipart/mixed; boundary={boundary}");
            (
                StatusCode::OK,
                [(
                    CONTENT_TYPE,
                    HeaderValue::from_str(&content_type).expect("a hex boundary is a valid header"),
                )],
                body,
            )
                .into_response()
        } else {
            (
                StatusCode::OK,
                [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
                json,
            )
                .into_response()
        };
        if let Some(instant) = last_modified {
            let date = httpdate::fmt_http_date(instant.into());
            response.headers_mut().insert(
                LAST_MODIFIED,
                HeaderValue::from_str(&date).expect("an HTTP date is a valid header value"),
            );
        }
        response
    }
}

/// The attachments the statements name, when `attachments=true` asks for them.
async fn attachment_parts<'a>(
    state: &AppState,
    tenant: &str,
    output: Output,
    raws: impl IntoIterator<Item = &'a String>,
) -> Result<Vec<StoredAttachment>, ApiError> {
    if !output.attachments {
        return Ok(Vec::new());
    }
    let mut sha2s: Vec<String> = Vec::new();
    for raw in raws {
        if !raw.contains("\"attachments\"") {
            continue;
        }
        let statement: Statement<'_> = serde_json::from_str(raw)
            .map_err(|error| ApiError::internal("a stored statement does not parse", &error))?;
        for attachment in statement.attachments.iter().flatten() {
            let sha2 = attachment.sha2.to_ascii_lowercase();
            if !sha2s.contains(&sha2) {
                sha2s.push(sha2);
            }
        }
    }
    if sha2s.is_empty() {
        return Ok(Vec::new());
    }
    state
        .store_gate()
        .read(
            "the attachment store cannot be read",
            state.store().attachments(tenant, &sha2s),
        )
        .await
}

/// The `stored` time of a stored statement, for `Last-Modified`.
fn stored_time(json: &str) -> Option<OffsetDateTime> {
    #[derive(Deserialize)]
    struct Stored<'a> {
        #[serde(borrow)]
        stored: Option<&'a str>,
    }
    let stored = serde_json::from_str::<Stored<'_>>(json).ok()?.stored?;
    time_parameter("stored", stored).ok()
}

fn boolean<'a>(value: impl Fn(&str) -> Option<&'a str>, name: &str) -> Result<bool, ApiError> {
    match value(name) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(ApiError::bad_request(format!(
            "{name}: must be true or false, got {other:?}"
        ))),
    }
}

/// An instant as a bound of `stored` (µs, unsigned: nothing is stored before 1970, so an
/// earlier instant bounds like the epoch).
fn stored_micros(instant: OffsetDateTime) -> u64 {
    u64::try_from(learnstream_xapi::unix_micros(instant)).unwrap_or(0)
}

/// `format` in a `more` token, by its parameter value.
mod format_name {
    use learnstream_xapi::StatementFormat;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        format: &StatementFormat,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(format.as_str())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<StatementFormat, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}
