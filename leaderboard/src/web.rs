//! Routes: server-rendered pages (askama; every interpolation HTML-escaped) and their JSON twins.

use std::path::PathBuf;
use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

use crate::db::{CompletedUpload, SubmissionRow, TaskRow, TokenRow};
use crate::split::View;
use crate::test_data::{self, TestData};
use crate::views::{self, HomeView, LeaderboardView, SubmissionView};
use crate::{AppState, UploadKind, auth};

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    /// `html` page or `json` twin.
    pub format: &'static str,
    pub description: &'static str,
}

/// Every route the router serves (the docs page lists them; tests enumerate them).
pub const ROUTES: &[Route] = &[
    Route { method: "GET", path: "/", format: "html", description: "Home: the tasks and the latest submissions." },
    Route {
        method: "GET",
        path: "/tasks/{id}",
        format: "html",
        description: "A task's leaderboard: models, baselines and the noise ceiling, mean [bootstrap CI], rank interval and tie group; ?view=public|private (private only once revealed)&sort=METRIC&order=asc|desc&kind=all|predictions|onnx|baseline|self-reported&page=N.",
    },
    Route {
        method: "GET",
        path: "/tasks/{id}/board.csv",
        format: "csv",
        description: "The task's whole board in one view as CSV (every row, the ceiling last): rank and its interval, tie group, row, kind, source, per metric mean, CI bounds and the way to the ceiling, the primary metric per subgroup, the probe flags; ?view=public|private.",
    },
    Route {
        method: "GET",
        path: "/tasks/{id}/rows/{row}",
        format: "html",
        description: "A reference row's page (a baseline, the reference model, the noise ceiling; {row} is its name, e.g. linear): the same scores, per-subgroup and per-perturbation tables and plots as a submission's page; ?view=public|private&metric=NAME.",
    },
    Route {
        method: "GET",
        path: "/tasks/{id}/training.h5ad",
        format: "h5ad",
        description: "The training download of a task with hidden test data (a simulator world drawn from the organiser secret, or a private dataset): the cells of the training conditions and the training controls, obs `perturbation`, uns `test_conditions` (the labels to predict); never a test cell. 404 for tasks with public test data.",
    },
    Route {
        method: "GET",
        path: "/submissions/{id}",
        format: "html",
        description: "A model: its scores overall and per subgroup, the per-perturbation table, an SVG histogram of one metric and an SVG scatter of its per-perturbation values against the best baseline (?view=public|private&metric=NAME).",
    },
    Route { method: "GET", path: "/submit", format: "html", description: "The submission form." },
    Route {
        method: "POST",
        path: "/submit",
        format: "html",
        description: "Form upload (multipart): token, task, name, description, kind, file; redirects to the submission page.",
    },
    Route { method: "GET", path: "/docs", format: "html", description: "This API documentation." },
    Route { method: "GET", path: "/api", format: "json", description: "JSON twin of /." },
    Route { method: "GET", path: "/api/tasks", format: "json", description: "The tasks." },
    Route {
        method: "GET",
        path: "/api/tasks/{id}",
        format: "json",
        description: "JSON twin of /tasks/{id} (same query parameters).",
    },
    Route {
        method: "GET",
        path: "/api/tasks/{id}/rows/{row}",
        format: "json",
        description: "JSON twin of /tasks/{id}/rows/{row}.",
    },
    Route {
        method: "GET",
        path: "/api/submissions/{id}",
        format: "json",
        description: "JSON twin of /submissions/{id}: status, scores, per-perturbation values; the error text only for its submitter (?receipt=RECEIPT from the upload's answer, or `Authorization: Bearer TOKEN` of the submitting token).",
    },
    Route {
        method: "GET",
        path: "/api/submit",
        format: "json",
        description: "JSON twin of /submit: the form's fields and limits.",
    },
    Route {
        method: "POST",
        path: "/api/submissions",
        format: "json",
        description: "Upload (multipart, same fields as /submit; the token may instead be sent as `Authorization: Bearer TOKEN`); 202 with the submission id and its receipt (the secret that shows you the submission's error text).",
    },
    Route { method: "GET", path: "/api/docs", format: "json", description: "JSON twin of /docs." },
    Route {
        method: "POST",
        path: "/api/tasks/{id}/reveal",
        format: "json",
        description: "Organisers only (`Authorization: Bearer ADMIN_TOKEN`): reveal the task's private leaderboard.",
    },
    Route {
        method: "POST",
        path: "/api/tasks/{id}/hide",
        format: "json",
        description: "Organisers only: hide the task's private leaderboard again.",
    },
];

pub fn router(state: Arc<AppState>) -> Router {
    // The body limit sits above the upload limit so the handler's own check (with a clear
    // message) fires first; the form fields besides the file are small.
    let limit = usize::try_from(state.config.max_upload_bytes).unwrap_or(usize::MAX).saturating_add(1 << 20);
    Router::new()
        .route("/", get(home_page))
        .route("/tasks/{id}", get(task_page))
        .route("/tasks/{id}/training.h5ad", get(training_download))
        .route("/tasks/{id}/board.csv", get(board_csv))
        .route("/tasks/{id}/rows/{row}", get(row_page))
        .route("/api/tasks/{id}/rows/{row}", get(row_api))
        .route("/submissions/{id}", get(submission_page))
        .route("/submit", get(submit_page).post(submit_form).layer(DefaultBodyLimit::max(limit)))
        .route("/docs", get(docs_page))
        .route("/api", get(home_api))
        .route("/api/tasks", get(tasks_api))
        .route("/api/tasks/{id}", get(task_api))
        .route("/api/submissions/{id}", get(submission_api))
        .route("/api/submit", get(submit_api))
        .route("/api/submissions", axum::routing::post(submit_api_post).layer(DefaultBodyLimit::max(limit)))
        .route("/api/docs", get(docs_api))
        .route("/api/tasks/{id}/reveal", axum::routing::post(reveal_api))
        .route("/api/tasks/{id}/hide", axum::routing::post(hide_api))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

/// Headers on every response: no scripts, frames, plugins or foreign form targets (the pages are
/// server-rendered and use one inline style sheet), no MIME sniffing, and no referrer (a
/// submission page's URL carries its receipt).
async fn security_headers(mut response: Response) -> Response {
    const HEADERS: [(&str, &str); 4] = [
        (
            "content-security-policy",
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
    ];
    for (name, value) in HEADERS {
        response.headers_mut().insert(name, header::HeaderValue::from_static(value));
    }
    response
}

// ---- errors

/// An error page (HTML) or `{"error": ...}` (JSON), with its status.
#[derive(Debug)]
pub struct Failure {
    pub status: StatusCode,
    pub message: String,
}

impl Failure {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Failure { status, message: message.into() }
    }
    fn internal<M: Into<String>>(message: M) -> Self {
        Failure::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
struct ErrorPage {
    status: u16,
    reason: String,
    message: String,
}

struct HtmlFailure(Failure);
impl From<Failure> for HtmlFailure {
    fn from(f: Failure) -> Self {
        HtmlFailure(f)
    }
}
impl IntoResponse for HtmlFailure {
    fn into_response(self) -> Response {
        let page = ErrorPage {
            status: self.0.status.as_u16(),
            reason: self.0.status.canonical_reason().unwrap_or("").to_string(),
            message: self.0.message,
        };
        closing(self.0.status, (self.0.status, page).into_response())
    }
}

/// A 408 (the client stopped sending) also closes the connection: the rest of that request's
/// body will not be read.
fn closing(status: StatusCode, mut response: Response) -> Response {
    if status == StatusCode::REQUEST_TIMEOUT {
        response.headers_mut().insert(header::CONNECTION, header::HeaderValue::from_static("close"));
    }
    response
}

struct JsonFailure(Failure);
impl From<Failure> for JsonFailure {
    fn from(f: Failure) -> Self {
        JsonFailure(f)
    }
}
impl IntoResponse for JsonFailure {
    fn into_response(self) -> Response {
        closing(self.0.status, (self.0.status, Json(serde_json::json!({ "error": self.0.message }))).into_response())
    }
}

fn task_or_404(state: &AppState, id: &str) -> Result<TaskRow, Failure> {
    state.db.task(id).map_err(Failure::internal)?.ok_or_else(|| {
        Failure::new(StatusCode::NOT_FOUND, format!("no task '{id}'; the tasks are listed at /api/tasks"))
    })
}

// ---- home

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
struct HomePage {
    v: HomeView,
    notice: Option<String>,
}

async fn home_page(State(state): State<Arc<AppState>>) -> Result<HomePage, HtmlFailure> {
    Ok(HomePage { v: views::home(&state.db).map_err(Failure::internal)?, notice: state.notice() })
}

async fn home_api(State(state): State<Arc<AppState>>) -> Result<Json<HomeView>, JsonFailure> {
    Ok(Json(views::home(&state.db).map_err(Failure::internal)?))
}

async fn tasks_api(State(state): State<Arc<AppState>>) -> Result<Json<Vec<TaskRow>>, JsonFailure> {
    Ok(Json(state.db.tasks().map_err(Failure::internal)?))
}

// ---- task leaderboard

#[derive(Debug, Deserialize)]
struct LbQuery {
    view: Option<String>,
    sort: Option<String>,
    order: Option<String>,
    kind: Option<String>,
    page: Option<usize>,
}

fn parse_view(v: Option<&str>) -> Result<Option<View>, Failure> {
    v.map(|v| {
        View::parse(v)
            .ok_or_else(|| Failure::new(StatusCode::BAD_REQUEST, format!("unknown view '{v}'; use public or private")))
    })
    .transpose()
}

fn leaderboard(state: &AppState, id: &str, q: &LbQuery) -> Result<LeaderboardView, Failure> {
    let task = task_or_404(state, id)?;
    let request = views::LbRequest {
        view: parse_view(q.view.as_deref())?,
        sort: q.sort.as_deref(),
        order: q.order.as_deref(),
        kind: q.kind.as_deref(),
        page: q.page,
    };
    let mut v = views::leaderboard(&state.db, task, &request)
        .map_err(Failure::internal)?
        .map_err(|hidden| Failure::new(StatusCode::FORBIDDEN, hidden))?;
    let data = state.config.test_data.get(&v.task.id).unwrap_or(&TestData::Public);
    v.test_data = Some(test_data::note(&v.task.id, &v.task.dataset, data));
    Ok(v)
}

// ---- training download of a hidden or private task

async fn training_download(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Response, HtmlFailure> {
    let task = task_or_404(&state, &id)?;
    let Some(file) = state.config.test_data.get(&task.id).and_then(TestData::training_file) else {
        return Err(Failure::new(
            StatusCode::NOT_FOUND,
            format!(
                "task '{}' has public test data and no training download here: `arena eval --task {}` loads its dataset \
                 and writes its split",
                task.id, task.id
            ),
        )
        .into());
    };
    let bytes = tokio::fs::read(file).await.map_err(|e| {
        eprintln!("leaderboard: reading the training download of {}: {e}", task.id);
        Failure::internal(format!("the training download of '{}' is not available on this server", task.id))
    })?;
    let disposition = format!("attachment; filename=\"{}-training.h5ad\"", task.id);
    Ok(([(header::CONTENT_TYPE, "application/x-hdf5".to_string()), (header::CONTENT_DISPOSITION, disposition)], bytes)
        .into_response())
}

struct SortLink {
    name: String,
    arrow: String,
    /// The metric's definition from the catalog (the header's tooltip).
    doc: String,
    /// Gaming probes that flag this metric on the task (empty: none).
    flags: String,
    href: String,
    current: bool,
}

struct KindLink {
    kind: String,
    href: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "task.html")]
struct TaskPage {
    v: LeaderboardView,
    sort_links: Vec<SortLink>,
    kind_links: Vec<KindLink>,
    view_links: Vec<KindLink>,
    prev_page: Option<String>,
    next_page: Option<String>,
}

/// A task page (HTML or its JSON twin) from the page cache while no board or reveal switch
/// changed; `render` makes it on a miss. Failures are not cached.
fn cached_task_page(
    state: &AppState,
    key: String,
    content_type: &'static str,
    render: impl FnOnce() -> Result<String, Failure>,
) -> Result<Response, Failure> {
    let generation = state.db.generation().map_err(Failure::internal)?;
    let body = match state.pages.get(&key, generation) {
        Some(body) => body,
        None => {
            let body = axum::body::Bytes::from(render()?);
            state.pages.put(key, generation, body.clone());
            body
        }
    };
    Ok(([(header::CONTENT_TYPE, content_type)], body).into_response())
}

async fn task_page(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    Query(q): Query<LbQuery>,
) -> Result<Response, HtmlFailure> {
    let key = format!("html:{id}?{}", raw.unwrap_or_default());
    Ok(cached_task_page(&state, key, "text/html; charset=utf-8", || render_task_page(&state, &id, &q))?)
}

fn render_task_page(state: &AppState, id: &str, q: &LbQuery) -> Result<String, Failure> {
    let v = leaderboard(state, id, q)?;
    let base = format!("/tasks/{}", v.task.id);
    let sort_links = v
        .metrics
        .iter()
        .map(|m| {
            let current = m.name == v.sort;
            let order = match (current, v.order.as_str(), m.better.is_higher()) {
                (true, "desc", _) => "asc",
                (true, _, _) => "desc",
                (false, _, true) => "desc",
                (false, _, false) => "asc",
            };
            SortLink {
                name: m.name.clone(),
                arrow: m.arrow.clone(),
                doc: m.doc.clone(),
                flags: m.flags.iter().map(|f| f.probe.clone()).collect::<Vec<_>>().join(", "),
                href: format!("{base}?view={}&sort={}&order={order}&kind={}", v.view, m.name, v.kind),
                current,
            }
        })
        .collect();
    let kind_links = v
        .kinds
        .iter()
        .map(|k| KindLink {
            kind: k.clone(),
            href: format!("{base}?view={}&sort={}&order={}&kind={k}", v.view, v.sort, v.order),
            current: *k == v.kind,
        })
        .collect();
    let view_links = View::ALL
        .iter()
        .filter(|w| w.visible(v.task.revealed))
        .map(|w| KindLink {
            kind: w.as_str().to_string(),
            href: format!("{base}?view={}", w.as_str()),
            current: w.as_str() == v.view,
        })
        .collect();
    let page_link =
        |p: usize| format!("{base}?view={}&sort={}&order={}&kind={}&page={p}", v.view, v.sort, v.order, v.kind);
    let prev_page = (v.page > 1).then(|| page_link(v.page - 1));
    let next_page = (v.page < v.pages).then(|| page_link(v.page + 1));
    TaskPage { v, sort_links, kind_links, view_links, prev_page, next_page }
        .render()
        .map_err(|e| Failure::internal(format!("rendering the task page: {e}")))
}

async fn task_api(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    Query(q): Query<LbQuery>,
) -> Result<Response, JsonFailure> {
    let key = format!("json:{id}?{}", raw.unwrap_or_default());
    Ok(cached_task_page(&state, key, "application/json", || {
        serde_json::to_string(&leaderboard(&state, &id, &q)?).map_err(|e| Failure::internal(e.to_string()))
    })?)
}

// ---- submission (model) page

#[derive(Debug, Deserialize)]
struct SubQuery {
    view: Option<String>,
    metric: Option<String>,
    /// The receipt returned with the upload: shows the submitter the error text.
    receipt: Option<String>,
}

/// The sha256 (hex) under which a submission's receipt is stored.
fn receipt_hash(receipt: &str) -> String {
    auth::hex(&auth::hash_secret(b"arena-receipt", receipt.trim()))
}

/// Whether the viewer submitted `s`: it shows the receipt handed back with the upload, or sends
/// the submitting token as `Authorization: Bearer`.
fn is_submitter(state: &AppState, s: &SubmissionRow, receipt: Option<&str>, bearer: Option<&str>) -> bool {
    let by_receipt = match (receipt, s.receipt_sha256.as_deref()) {
        (Some(r), Some(stored)) => auth::hashes_equal(receipt_hash(r).as_bytes(), stored.as_bytes()),
        _ => false,
    };
    let by_token = || match (bearer, s.token_id) {
        (Some(t), Some(owner)) => state.db.verify_token(t).ok().flatten().is_some_and(|row| row.id == owner),
        _ => false,
    };
    by_receipt || by_token()
}

fn submission_view(state: &AppState, id: i64, q: &SubQuery, bearer: Option<&str>) -> Result<SubmissionView, Failure> {
    let s = state
        .db
        .submission(id)
        .map_err(Failure::internal)?
        .ok_or_else(|| Failure::new(StatusCode::NOT_FOUND, format!("no submission {id}")))?;
    let submitter = is_submitter(state, &s, q.receipt.as_deref(), bearer);
    views::submission(&state.db, s, parse_view(q.view.as_deref())?, q.metric.as_deref(), submitter)
        .map_err(Failure::internal)?
        .map_err(|hidden| Failure::new(StatusCode::FORBIDDEN, hidden))
}

#[derive(Template, WebTemplate)]
#[template(path = "submission.html")]
struct SubmissionPage {
    v: SubmissionView,
    /// (metric, link) for the histogram and comparison's metric choice.
    metric_links: Vec<(String, String)>,
    /// (view, link) for each view the visitor may see.
    view_links: Vec<(String, String)>,
}

/// (label, href) links.
type Links = Vec<(String, String)>;

/// The metric and view links of a row page at `base` (a path without query); `extra` is
/// appended to each (`&receipt=...`).
fn row_links(base: &str, d: &views::RowDetail, extra: &str) -> (Links, Links) {
    let metric_links = d
        .metrics
        .iter()
        .map(|m| (m.name.clone(), format!("{base}?view={}&metric={}{extra}", d.view, m.name)))
        .collect();
    let view_links = View::ALL
        .iter()
        .filter(|w| w.visible(d.revealed))
        .map(|w| (w.as_str().to_string(), format!("{base}?view={}{extra}", w.as_str())))
        .collect();
    (metric_links, view_links)
}

async fn submission_page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(q): Query<SubQuery>,
) -> Result<SubmissionPage, HtmlFailure> {
    let v = submission_view(&state, id, &q, bearer(&headers).as_deref())?;
    // The receipt (hex) travels with the metric links, so the submitter keeps seeing the error.
    let receipt = q.receipt.filter(|r| r.bytes().all(|b| b.is_ascii_hexdigit())).map(|r| format!("&receipt={r}"));
    let receipt = receipt.unwrap_or_default();
    let (metric_links, view_links) = row_links(&format!("/submissions/{id}"), &v.detail, &receipt);
    Ok(SubmissionPage { v, metric_links, view_links })
}

// ---- reference row pages (baselines, reference model, ceiling)

#[derive(Debug, Deserialize)]
struct RowQuery {
    view: Option<String>,
    metric: Option<String>,
}

fn reference_row_view(state: &AppState, id: &str, row: &str, q: &RowQuery) -> Result<views::ReferenceRowView, Failure> {
    let task = task_or_404(state, id)?;
    views::reference_row(&state.db, task, row, parse_view(q.view.as_deref())?, q.metric.as_deref())
        .map_err(Failure::internal)?
        .map_err(|refusal| match refusal {
            views::RowRefusal::Hidden(m) => Failure::new(StatusCode::FORBIDDEN, m),
            views::RowRefusal::Missing(m) => Failure::new(StatusCode::NOT_FOUND, m),
        })
}

#[derive(Template, WebTemplate)]
#[template(path = "row.html")]
struct RowPage {
    v: views::ReferenceRowView,
    metric_links: Vec<(String, String)>,
    view_links: Vec<(String, String)>,
}

async fn row_page(
    State(state): State<Arc<AppState>>,
    Path((id, row)): Path<(String, String)>,
    Query(q): Query<RowQuery>,
) -> Result<RowPage, HtmlFailure> {
    let v = reference_row_view(&state, &id, &row, &q)?;
    let base = format!("/tasks/{}/rows/{}", v.task.id, views::path_segment(&v.name));
    let (metric_links, view_links) = row_links(&base, &v.detail, "");
    Ok(RowPage { v, metric_links, view_links })
}

async fn row_api(
    State(state): State<Arc<AppState>>,
    Path((id, row)): Path<(String, String)>,
    Query(q): Query<RowQuery>,
) -> Result<Json<views::ReferenceRowView>, JsonFailure> {
    Ok(Json(reference_row_view(&state, &id, &row, &q)?))
}

// ---- CSV download of a board

#[derive(Debug, Deserialize)]
struct CsvQuery {
    view: Option<String>,
}

async fn board_csv(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(q): Query<CsvQuery>,
) -> Result<Response, HtmlFailure> {
    let task = task_or_404(&state, &id)?;
    let view = parse_view(q.view.as_deref())?;
    let text = views::board_csv(&state.db, &task, view)
        .map_err(Failure::internal)?
        .map_err(|hidden| Failure::new(StatusCode::FORBIDDEN, hidden))?;
    let shown = view.unwrap_or(View::default_for(task.revealed));
    let disposition = format!("attachment; filename=\"{}-{}.csv\"", task.id, shown.as_str());
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, disposition)],
        text,
    )
        .into_response())
}

async fn submission_api(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(q): Query<SubQuery>,
) -> Result<Json<SubmissionView>, JsonFailure> {
    Ok(Json(submission_view(&state, id, &q, bearer(&headers).as_deref())?))
}

// ---- submit

#[derive(Debug, Serialize)]
struct SubmitInfo {
    tasks: Vec<String>,
    kinds: Vec<&'static str>,
    max_upload_bytes: u64,
    rate_limit: String,
    fields: Vec<(&'static str, &'static str)>,
    predictions_format: &'static str,
}

fn submit_info(state: &AppState) -> Result<SubmitInfo, Failure> {
    let mut kinds = vec!["predictions"];
    if state.scorer.supports(UploadKind::Onnx) {
        kinds.push("onnx");
    }
    let rl = &state.config.rate_limit;
    Ok(SubmitInfo {
        tasks: state.db.tasks().map_err(Failure::internal)?.into_iter().map(|t| t.id).collect(),
        kinds,
        max_upload_bytes: state.config.max_upload_bytes,
        rate_limit: match state.config.daily_quota {
            Some(daily) => format!("{} submissions per token per {} s, {daily} per 24 hours", rl.max, rl.window_secs),
            None => format!("{} submissions per token per {} s", rl.max, rl.window_secs),
        },
        fields: vec![
            (
                "token",
                "organiser-issued token (must come before `file`; or `Authorization: Bearer TOKEN` on /api/submissions)",
            ),
            ("task", "task id (before `file`)"),
            ("name", "model name, 1 to 200 characters"),
            ("description", "optional, up to 5000 characters"),
            ("kind", "predictions (default) or onnx"),
            ("file", "the upload, last"),
        ],
        predictions_format: "AnnData .h5ad with exactly the task's genes in var (any order) and obs column `perturbation` labelling each predicted cell or profile with its test perturbation (combos as A+B); control cells are ignored: deltas use the server's real controls",
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "submit.html")]
struct SubmitPage {
    info: SubmitInfo,
    max_mib: String,
    message: Option<String>,
}

fn submit_page_with(state: &AppState, message: Option<String>) -> Result<SubmitPage, Failure> {
    let info = submit_info(state)?;
    let max_mib = format!("{:.1}", info.max_upload_bytes as f64 / (1024.0 * 1024.0));
    Ok(SubmitPage { info, max_mib, message })
}

async fn submit_page(State(state): State<Arc<AppState>>) -> Result<SubmitPage, HtmlFailure> {
    Ok(submit_page_with(&state, None)?)
}

async fn submit_api(State(state): State<Arc<AppState>>) -> Result<Json<SubmitInfo>, JsonFailure> {
    Ok(Json(submit_info(&state)?))
}

async fn submit_form(State(state): State<Arc<AppState>>, headers: HeaderMap, mp: Multipart) -> Response {
    match accept_draining(&state, mp, bearer(&headers)).await {
        Ok((id, receipt)) => Redirect::to(&format!("/submissions/{id}?receipt={receipt}")).into_response(),
        Err(f) => match submit_page_with(&state, Some(f.message.clone())) {
            Ok(page) => closing(f.status, (f.status, page).into_response()),
            Err(e) => HtmlFailure(e).into_response(),
        },
    }
}

async fn submit_api_post(State(state): State<Arc<AppState>>, headers: HeaderMap, mp: Multipart) -> Response {
    match accept_draining(&state, mp, bearer(&headers)).await {
        Ok((id, receipt)) => (
            StatusCode::ACCEPTED,
            Json(serde_json::json!({
                "id": id,
                "status": "queued",
                "receipt": receipt,
                "url": format!("/api/submissions/{id}?receipt={receipt}"),
                "page": format!("/submissions/{id}?receipt={receipt}"),
            })),
        )
            .into_response(),
        Err(f) => JsonFailure(f).into_response(),
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    v.strip_prefix("Bearer ").map(|t| t.trim().to_string())
}

/// Removes the files it holds when dropped, unless disarmed (an upload that fails half-way leaves nothing).
struct Cleanup(Vec<PathBuf>);
impl Drop for Cleanup {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

const HDF5_SIGNATURE: &[u8] = b"\x89HDF\r\n\x1a\n";

fn multipart_failure(e: axum::extract::multipart::MultipartError, limit: u64) -> Failure {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return Failure::new(StatusCode::PAYLOAD_TOO_LARGE, format!("the upload exceeds the limit of {limit} bytes"));
    }
    Failure::new(e.status(), format!("malformed multipart upload: {}", e.body_text()))
}

async fn small_text(
    field: &mut axum::extract::multipart::Field<'_>,
    name: &str,
    cap: usize,
    limit: u64,
    timeout: std::time::Duration,
) -> Result<String, Failure> {
    let mut buf = Vec::new();
    while let Some(chunk) = next_chunk(field, limit, timeout).await? {
        buf.extend_from_slice(&chunk);
        if buf.len() > cap {
            return Err(Failure::new(
                StatusCode::BAD_REQUEST,
                format!("the field '{name}' is longer than {cap} bytes"),
            ));
        }
    }
    String::from_utf8(buf)
        .map_err(|_| Failure::new(StatusCode::BAD_REQUEST, format!("the field '{name}' is not UTF-8 text")))
}

fn check_token(state: &AppState, token: &str) -> Result<TokenRow, Failure> {
    state.db.verify_token(token).map_err(Failure::internal)?.ok_or_else(|| {
        Failure::new(StatusCode::UNAUTHORIZED, "missing or invalid organiser token (ask the organisers for one)")
    })
}

/// A reserved submission row ([`crate::db::Db::reserve_upload`]), deleted when dropped unless the
/// upload completed: a failed or cut-off upload gives its quota back.
struct Slot<'a> {
    state: &'a AppState,
    id: Option<i64>,
}
impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id.take()
            && let Err(e) = self.state.db.release_upload(id)
        {
            eprintln!("leaderboard: releasing the reservation of submission {id}: {e}");
        }
    }
}

/// Reserves the row of `token`'s upload to `task` before its file streams: the per-token limits
/// and the storage quota are checked and the row written in one exclusive transaction.
fn reserve<'a>(state: &'a AppState, token: &TokenRow, task: &str) -> Result<Slot<'a>, Failure> {
    let config = &state.config;
    let mut limits = vec![(config.rate_limit.max, config.rate_limit.window_secs)];
    if let Some(max) = config.daily_quota {
        limits.push((max, 86_400));
    }
    let reservation = crate::db::Reservation {
        task_id: task,
        token_id: token.id,
        limits: &limits,
        reserve_bytes: i64::try_from(config.max_upload_bytes).unwrap_or(i64::MAX),
        storage_quota: config.storage_quota_bytes.map(|q| i64::try_from(q).unwrap_or(i64::MAX)),
    };
    match state.db.reserve_upload(&reservation).map_err(Failure::internal)? {
        crate::db::Reserved::Slot(id) => Ok(Slot { state, id: Some(id) }),
        crate::db::Reserved::RateLimited { made, max, window_secs } => {
            let window = if window_secs == 86_400 { "24 hours".to_string() } else { format!("{window_secs} s") };
            Err(Failure::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "rate limit: token '{}' made {made} submissions in the last {window} (at most {max} allowed); \
                     try again later",
                    token.name
                ),
            ))
        }
        crate::db::Reserved::StorageFull { used, quota } => Err(Failure::new(
            StatusCode::INSUFFICIENT_STORAGE,
            format!(
                "the server's upload storage is full ({:.2} of {:.2} GiB held, and an upload may need {:.2} GiB); \
                 no new uploads are accepted until the organisers free space or raise the quota — please tell them",
                gib(used),
                gib(quota),
                gib(reservation.reserve_bytes)
            ),
        )),
    }
}

fn gib(bytes: i64) -> f64 {
    bytes as f64 / (1u64 << 30) as f64
}

/// The next chunk of a multipart field, or a 408 when none arrives within the body timeout.
async fn next_chunk(
    field: &mut axum::extract::multipart::Field<'_>,
    limit: u64,
    timeout: std::time::Duration,
) -> Result<Option<axum::body::Bytes>, Failure> {
    match tokio::time::timeout(timeout, field.chunk()).await {
        Ok(chunk) => chunk.map_err(|e| multipart_failure(e, limit)),
        Err(_) => Err(Failure::new(
            StatusCode::REQUEST_TIMEOUT,
            format!("the upload stalled: no data arrived for {} s; try again", timeout.as_secs()),
        )),
    }
}

/// [`accept_upload`]; on a refusal the rest of the request body is read and discarded (at most
/// the body limit), so the client receives the message instead of a reset connection.
async fn accept_draining(
    state: &Arc<AppState>,
    mut mp: Multipart,
    bearer: Option<String>,
) -> Result<(i64, String), Failure> {
    let result = accept_upload(state, &mut mp, bearer).await;
    if let Err(f) = &result
        && f.status != StatusCode::REQUEST_TIMEOUT
    {
        // A client that stops sending while its rest is drained is cut off after the body timeout.
        let drain = async {
            while let Ok(Some(mut field)) = mp.next_field().await {
                while let Ok(Some(_)) = field.chunk().await {}
            }
        };
        let _ = tokio::time::timeout(state.config.timeouts.body, drain).await;
    }
    result
}

/// Streams a multipart submission to disk under a generated name and queues its scoring job.
/// Returns the submission id and its receipt (the secret that shows the submitter its errors).
async fn accept_upload(
    state: &Arc<AppState>,
    mp: &mut Multipart,
    bearer: Option<String>,
) -> Result<(i64, String), Failure> {
    if let Some(reason) = state.scorer.refusal() {
        return Err(Failure::new(StatusCode::SERVICE_UNAVAILABLE, format!("this server accepts no uploads: {reason}")));
    }
    let limit = state.config.max_upload_bytes;
    let body_timeout = state.config.timeouts.body;
    let mut slot: Option<Slot<'_>> = None;
    let mut token = match bearer {
        Some(b) => Some(check_token(state, &b)?),
        None => None,
    };
    let (mut task, mut name, mut description, mut kind) = (None, None, String::new(), UploadKind::Predictions);
    let mut cleanup = Cleanup(Vec::new());
    let mut stored: Option<(String, PathBuf, u64, Vec<u8>)> = None;
    loop {
        let next = tokio::time::timeout(body_timeout, mp.next_field()).await.map_err(|_| {
            Failure::new(
                StatusCode::REQUEST_TIMEOUT,
                format!("the upload stalled: no data arrived for {} s; try again", body_timeout.as_secs()),
            )
        })?;
        let Some(mut field) = next.map_err(|e| multipart_failure(e, limit))? else { break };
        let field_name = field.name().unwrap_or("").to_string();
        match field_name.as_str() {
            "token" => {
                let t = small_text(&mut field, "token", 200, limit, body_timeout).await?;
                if token.is_none() {
                    token = Some(check_token(state, &t)?);
                }
            }
            "task" => task = Some(small_text(&mut field, "task", 200, limit, body_timeout).await?.trim().to_string()),
            "name" => name = Some(small_text(&mut field, "name", 800, limit, body_timeout).await?.trim().to_string()),
            "description" => {
                description =
                    small_text(&mut field, "description", 20_000, limit, body_timeout).await?.trim().to_string()
            }
            "kind" => {
                let k = small_text(&mut field, "kind", 40, limit, body_timeout).await?;
                kind = UploadKind::parse(k.trim()).ok_or_else(|| {
                    Failure::new(
                        StatusCode::BAD_REQUEST,
                        format!("unknown kind '{}'; expected predictions or onnx", k.trim()),
                    )
                })?;
            }
            "file" => {
                let Some(owner) = token.as_ref() else {
                    return Err(Failure::new(
                        StatusCode::UNAUTHORIZED,
                        "missing or invalid organiser token: send the `token` field before `file` (or `Authorization: Bearer TOKEN`)",
                    ));
                };
                if stored.is_some() {
                    return Err(Failure::new(StatusCode::BAD_REQUEST, "only one `file` per submission"));
                }
                let task_id = task_or_400(state, task.as_deref())?.id;
                // The row is reserved before a byte of the file is read: quotas hold under
                // parallel uploads, and a failed upload releases its row (`Slot`).
                slot = Some(reserve(state, owner, &task_id)?);
                // The client's file name is never used: the upload is stored under a random name.
                let stem = auth::random_hex(16).map_err(Failure::internal)?;
                let part = state.config.upload_dir.join(format!("{stem}.part"));
                cleanup.0.push(part.clone());
                let mut out = tokio::fs::File::create(&part)
                    .await
                    .map_err(|e| Failure::internal(format!("storing the upload: {e}")))?;
                let (mut total, mut head) = (0u64, Vec::with_capacity(8));
                while let Some(chunk) = next_chunk(&mut field, limit, body_timeout).await? {
                    total += chunk.len() as u64;
                    if total > limit {
                        return Err(Failure::new(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            format!("the upload exceeds the limit of {limit} bytes"),
                        ));
                    }
                    if head.len() < 8 {
                        head.extend(chunk.iter().take(8 - head.len()));
                    }
                    out.write_all(&chunk).await.map_err(|e| Failure::internal(format!("storing the upload: {e}")))?;
                }
                out.flush().await.map_err(|e| Failure::internal(format!("storing the upload: {e}")))?;
                out.sync_all().await.map_err(|e| Failure::internal(format!("storing the upload: {e}")))?;
                stored = Some((stem, part, total, head));
            }
            other => {
                return Err(Failure::new(
                    StatusCode::BAD_REQUEST,
                    format!("unknown form field '{other}'; the fields are token, task, name, description, kind, file"),
                ));
            }
        }
    }
    token.ok_or_else(|| Failure::new(StatusCode::UNAUTHORIZED, "missing or invalid organiser token"))?;
    task_or_400(state, task.as_deref())?;
    let name = name.unwrap_or_default();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(Failure::new(StatusCode::BAD_REQUEST, "the model name must be 1 to 200 characters"));
    }
    if description.chars().count() > 5000 {
        return Err(Failure::new(StatusCode::BAD_REQUEST, "the description must be at most 5000 characters"));
    }
    let (stem, part, bytes, head) = stored
        .ok_or_else(|| Failure::new(StatusCode::BAD_REQUEST, "no file: attach the upload in the `file` field"))?;
    if bytes == 0 {
        return Err(Failure::new(StatusCode::BAD_REQUEST, "the uploaded file is empty"));
    }
    match kind {
        UploadKind::Predictions if !head.starts_with(HDF5_SIGNATURE) => {
            return Err(Failure::new(
                StatusCode::BAD_REQUEST,
                "the file is not an AnnData .h5ad (HDF5) file: it does not start with the HDF5 signature",
            ));
        }
        UploadKind::Onnx if !state.scorer.supports(UploadKind::Onnx) => {
            return Err(Failure::new(
                StatusCode::BAD_REQUEST,
                "this server does not score ONNX uploads; upload predictions",
            ));
        }
        // An ONNX ModelProto starts with field 1 (ir_version, varint): byte 0x08.
        UploadKind::Onnx if head.first() != Some(&0x08) => {
            return Err(Failure::new(StatusCode::BAD_REQUEST, "the file is not an ONNX model (no ModelProto header)"));
        }
        _ => {}
    }
    let upload_name = format!("{stem}.{}", kind.extension());
    let receipt = auth::random_hex(16).map_err(Failure::internal)?;
    let final_path = state.config.upload_dir.join(&upload_name);
    tokio::fs::rename(&part, &final_path).await.map_err(|e| Failure::internal(format!("storing the upload: {e}")))?;
    cleanup.0 = vec![final_path];
    let mut slot = slot.ok_or_else(|| Failure::internal("an upload without a reservation"))?;
    let id = slot.id.ok_or_else(|| Failure::internal("an upload without a reservation"))?;
    state
        .db
        .complete_upload(
            id,
            &CompletedUpload {
                name: &name,
                description: &description,
                kind: kind.as_str(),
                upload_name: &upload_name,
                upload_bytes: i64::try_from(bytes).unwrap_or(i64::MAX),
                receipt_sha256: &receipt_hash(&receipt),
            },
        )
        .map_err(Failure::internal)?;
    slot.id = None;
    cleanup.0.clear();
    state.wake.notify_one();
    Ok((id, receipt))
}

/// The task named by the form's `task` field (which must come before `file`).
fn task_or_400(state: &AppState, task: Option<&str>) -> Result<TaskRow, Failure> {
    let task = task.filter(|t| !t.is_empty()).ok_or_else(|| {
        Failure::new(StatusCode::BAD_REQUEST, "no task: choose one (the `task` field comes before `file`)")
    })?;
    state.db.task(task).map_err(Failure::internal)?.ok_or_else(|| {
        Failure::new(StatusCode::BAD_REQUEST, format!("unknown task '{task}'; the tasks are listed at /api/tasks"))
    })
}

// ---- reveal switch (organisers)

async fn set_reveal(state: &AppState, headers: &HeaderMap, id: &str, revealed: bool) -> Result<Response, Failure> {
    let token = bearer(headers).ok_or_else(|| {
        Failure::new(StatusCode::UNAUTHORIZED, "send an organiser token as `Authorization: Bearer TOKEN`")
    })?;
    let row = state.db.verify_token(&token).map_err(Failure::internal)?.ok_or_else(|| {
        Failure::new(
            StatusCode::UNAUTHORIZED,
            "invalid organiser token (create one with `arena serve --issue-token NAME --admin`)",
        )
    })?;
    if !row.admin {
        return Err(Failure::new(
            StatusCode::FORBIDDEN,
            format!(
                "token '{}' may submit but not reveal; use an organiser token (`--issue-token NAME --admin`)",
                row.name
            ),
        ));
    }
    let task = task_or_404(state, id)?;
    state.db.set_revealed(&task.id, revealed).map_err(Failure::internal)?;
    Ok(Json(serde_json::json!({ "task": task.id, "revealed": revealed })).into_response())
}

async fn reveal_api(State(state): State<Arc<AppState>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    set_reveal(&state, &headers, &id, true).await.unwrap_or_else(|f| JsonFailure(f).into_response())
}

async fn hide_api(State(state): State<Arc<AppState>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    set_reveal(&state, &headers, &id, false).await.unwrap_or_else(|f| JsonFailure(f).into_response())
}

// ---- docs

#[derive(Template, WebTemplate)]
#[template(path = "docs.html")]
struct DocsPage {
    routes: &'static [Route],
}

async fn docs_page() -> DocsPage {
    DocsPage { routes: ROUTES }
}

async fn docs_api() -> Json<&'static [Route]> {
    Json(ROUTES)
}
