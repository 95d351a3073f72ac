//! Mail settings (`/settings/mail`, also as the original `email.xml`), the "send test mail" action, and each
//! run's mail outcome (`/runs/{id}/mail`). Settings are for admins (`change_users`); the password is write-only.

use axum::extract::{Path, State};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult};
use crate::app::AppState;
use crate::auth::{Caller, Permission};
use crate::notify::mail::{self, MailSettings};
use crate::notify::NotifyError;
use crate::store::settings::RunMail;

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/settings/mail", get(get_settings).put(put_settings))
        .route("/settings/mail/email.xml", put(import_xml))
        .route("/settings/mail/test", post(test_mail))
        .route("/settings/mail/failures", get(failures))
        .route("/runs/{id}/mail", get(run_mail))
}

fn from_notify(e: NotifyError) -> ApiError {
    match e {
        NotifyError::Mail(m @ mail::MailError::Invalid { .. }) => ApiError::invalid(m.to_string()),
        NotifyError::Mail(m @ mail::MailError::Xml(_)) => ApiError::invalid(m.to_string()),
        NotifyError::Mail(m) => {
            ApiError::new(axum::http::StatusCode::BAD_GATEWAY, "mail_failed", m.to_string())
        }
        NotifyError::Store(s) => s.into(),
        NotifyError::Secret => ApiError::conflict(e.to_string()),
    }
}

/// The mail settings (no password).
#[utoipa::path(get, path = "/api/v1/settings/mail", tag = "notify", security(("bearer" = [])),
    responses((status = 200, body = MailSettings)))]
pub async fn get_settings(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<MailSettings>> {
    caller.require(Permission::ChangeUsers)?;
    Ok(Json(state.mailer.settings().await.map_err(from_notify)?))
}

/// Replaces the mail settings; `password` absent keeps the stored one, `""` removes it.
#[utoipa::path(put, path = "/api/v1/settings/mail", tag = "notify", security(("bearer" = [])),
    request_body = MailSettings, responses((status = 200, body = MailSettings)))]
pub async fn put_settings(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<MailSettings>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<MailSettings>> {
    caller.require(Permission::ChangeUsers)?;
    let Json(s) = body?;
    Ok(Json(
        state
            .mailer
            .save(s, &caller.username)
            .await
            .map_err(from_notify)?,
    ))
}

/// Replaces the mail settings from an original Twister `email.xml`.
#[utoipa::path(put, path = "/api/v1/settings/mail/email.xml", tag = "notify", security(("bearer" = [])),
    request_body(content = String, content_type = "application/xml"), responses((status = 200, body = MailSettings)))]
pub async fn import_xml(
    State(state): State<AppState>,
    caller: Caller,
    body: axum::body::Bytes,
) -> ApiResult<Json<MailSettings>> {
    caller.require(Permission::ChangeUsers)?;
    let text = std::str::from_utf8(&body).map_err(|_| ApiError::bad_request("the XML is not UTF-8"))?;
    let s = mail::from_email_xml(text).map_err(|e| ApiError::invalid(e.to_string()))?;
    Ok(Json(
        state
            .mailer
            .save(s, &caller.username)
            .await
            .map_err(from_notify)?,
    ))
}

/// Result of a test mail.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestMailResult {
    /// Recipients it went to.
    pub sent_to: String,
}

/// Sends a test mail with the stored settings; a failure answers 502 with the server's error.
#[utoipa::path(post, path = "/api/v1/settings/mail/test", tag = "notify", security(("bearer" = [])),
    responses((status = 200, body = TestMailResult), (status = 502, body = super::error::ErrorBody)))]
pub async fn test_mail(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<TestMailResult>> {
    caller.require(Permission::ChangeUsers)?;
    let sent_to = state.mailer.send_test().await.map_err(from_notify)?;
    Ok(Json(TestMailResult { sent_to }))
}

/// The latest run mails that failed, newest first.
#[utoipa::path(get, path = "/api/v1/settings/mail/failures", tag = "notify", security(("bearer" = [])),
    responses((status = 200, body = [RunMail])))]
pub async fn failures(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<RunMail>>> {
    caller.require(Permission::ChangeUsers)?;
    Ok(Json(
        crate::store::settings::recent_mail_failures(&state.store, 20).await?,
    ))
}

/// What happened to a run's mail (404 while there is no outcome yet, or mail is off).
#[utoipa::path(get, path = "/api/v1/runs/{id}/mail", tag = "notify", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = RunMail)))]
pub async fn run_mail(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<RunMail>> {
    caller.require(Permission::ViewReports)?;
    crate::store::settings::run_mail(&state.store, &id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("run {id} has no mail outcome")))
}
