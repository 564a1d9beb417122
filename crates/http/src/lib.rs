//! What every HTTP resource of learnstream shares, whichever service crate serves it: the error
//! type and its codes (the status and JSON shape of every error answer), the configured
//! credentials and the [`Authenticated`] principal of a request, and the [`BodyGuard`] that
//! checks credentials before a body is read and reads it under a limit and a deadline; CORS,
//! the HTTP metrics layer, the operational routes (`/health`, `/ready`, `/metrics`) and the
//! reading of media types ([`media`]). The intake (`/xapi`) and the district API (`/district`)
//! both build on it.

mod auth;
mod cors;
mod error;
mod guard;
pub mod media;
mod metrics;
mod ops;

pub use auth::{AuthConfig, Authenticated, CredentialConfig, Credentials, Principal, WriteMode};
pub use cors::cors_layer;
pub use error::{ApiError, ErrorBody, ErrorCode, ErrorDetail, RETRY_AFTER_SECONDS};
pub use guard::{BodyGuard, guard_body};
pub use metrics::{describe as describe_metrics, track_http};
pub use ops::{OPERATIONS_TAG, Readiness, XAPI_TAG, ops_router};
