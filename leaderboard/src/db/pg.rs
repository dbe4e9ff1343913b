//! The Postgres backend (the synchronous `postgres` crate). Its `Client` drives its own tokio
//! runtime and panics when called from inside another runtime (the axum handlers), so the client
//! lives on one dedicated thread: [`Postgres`] sends it each statement over a channel and waits
//! for the reply, which is safe from any thread, async or not. That thread prepares each
//! statement once, and after a lost connection (a failed statement, then a failed liveness
//! check) reconnects before the next statement outside a transaction. Connections use TLS as the
//! URL's `sslmode` asks (see [`super::tls`]).

use std::collections::HashMap;
use std::error::Error as _;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::BytesMut;
use postgres::config::SslMode;
use postgres::error::SqlState;
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, Config, NoTls, Statement};

use super::DbResult;
use super::error::{SqlError, SqlResult};
use super::session::Session;
use super::tls::{MakeRustls, client_config, split_tls_options};
use super::value::{Row, Value};

enum Request {
    Query(String, Vec<Value>),
    Execute(String, Vec<Value>),
    Batch(String),
}

enum Reply {
    Rows(Vec<Row>),
    Count(u64),
    Done,
}

/// A handle on the connection thread; dropping it closes the connection and joins the thread.
pub struct Postgres {
    requests: Option<Sender<Request>>,
    replies: Receiver<SqlResult<Reply>>,
    thread: Option<JoinHandle<()>>,
}

impl Postgres {
    /// Connects to `url`; `shown` is the URL with its password hidden, for messages.
    pub fn connect(url: &str, shown: &str) -> DbResult<Self> {
        let (url, tls_options) = split_tls_options(url, shown)?;
        let mut config: Config = url.parse().map_err(|e| {
            format!("--database {shown}: {}; expected postgres://USER:PASSWORD@HOST:PORT/DATABASE", describe(&e))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        config.ssl_mode(tls_options.mode);
        let tls = match tls_options.mode {
            SslMode::Disable => Tls::Plain,
            _ => Tls::Rustls(MakeRustls(client_config(&tls_options)?)),
        };
        let (requests, inbox) = channel();
        let (outbox, replies) = channel();
        let shown = shown.to_string();
        let thread = std::thread::Builder::new()
            .name("arena-postgres".into())
            .spawn(move || serve(config, tls, &shown, inbox, outbox))
            .map_err(|e| format!("starting the database thread: {e}"))?;
        let mut pg = Postgres { requests: Some(requests), replies, thread: Some(thread) };
        // The thread's first reply is the outcome of connecting.
        pg.reply()?;
        Ok(pg)
    }

    fn reply(&mut self) -> SqlResult<Reply> {
        self.replies.recv().unwrap_or_else(|_| Err(SqlError::Other("database: the connection thread stopped".into())))
    }

    fn call(&mut self, request: Request) -> SqlResult<Reply> {
        let sent = self.requests.as_ref().is_some_and(|r| r.send(request).is_ok());
        if !sent {
            return Err(SqlError::Other("database: the connection thread stopped".into()));
        }
        self.reply()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.requests.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Session for Postgres {
    fn query(&mut self, sql: &str, params: Vec<Value>) -> SqlResult<Vec<Row>> {
        match self.call(Request::Query(sql.to_string(), params))? {
            Reply::Rows(rows) => Ok(rows),
            _ => Err(SqlError::Other("database: unexpected reply".into())),
        }
    }

    fn execute(&mut self, sql: &str, params: Vec<Value>) -> SqlResult<u64> {
        match self.call(Request::Execute(sql.to_string(), params))? {
            Reply::Count(n) => Ok(n),
            _ => Err(SqlError::Other("database: unexpected reply".into())),
        }
    }

    fn batch(&mut self, sql: &str) -> SqlResult<()> {
        self.call(Request::Batch(sql.to_string())).map(|_| ())
    }
}

/// The `Display` of a postgres error leaves out its cause (the server's message): add it.
fn describe(e: &postgres::Error) -> String {
    match e.source() {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

fn error(e: postgres::Error) -> SqlError {
    if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
        SqlError::UniqueViolation(format!("database: {}", describe(&e)))
    } else {
        SqlError::Other(format!("database: {}", describe(&e)))
    }
}

/// How connections are made: plain TCP, or rustls with verified certificates.
enum Tls {
    Plain,
    Rustls(MakeRustls),
}

fn connect(config: &Config, tls: &Tls, shown: &str) -> SqlResult<Client> {
    let client = match tls {
        Tls::Plain => config.connect(NoTls),
        Tls::Rustls(make) => config.connect(make.clone()),
    };
    client.map_err(|e| {
        SqlError::Other(format!(
            "could not connect to {shown}: {}; is the server running and are the user, password and database right? \
             (scripts/setup.sh starts a local one with role arena, password arena, database arena_test)",
            describe(&e)
        ))
    })
}

/// The connection thread: one client, statements prepared once, requests answered in order.
fn serve(config: Config, tls: Tls, shown: &str, inbox: Receiver<Request>, outbox: Sender<SqlResult<Reply>>) {
    let mut client = match connect(&config, &tls, shown) {
        Ok(c) => c,
        Err(e) => {
            let _ = outbox.send(Err(e));
            return;
        }
    };
    if outbox.send(Ok(Reply::Done)).is_err() {
        return;
    }
    let mut statements: HashMap<String, Statement> = HashMap::new();
    let mut in_transaction = false;
    let mut broken = false;
    for request in inbox {
        // A lost connection (server restart) is replaced between transactions, never inside one.
        if (broken || client.is_closed()) && !in_transaction {
            match connect(&config, &tls, shown) {
                Ok(c) => {
                    client = c;
                    statements.clear();
                    broken = false;
                }
                Err(e) => {
                    if outbox.send(Err(e)).is_err() {
                        return;
                    }
                    continue;
                }
            }
        }
        let reply = match request {
            Request::Batch(sql) => {
                let result = client.batch_execute(&sql).map(|()| Reply::Done).map_err(error);
                match sql.as_str() {
                    "BEGIN" => in_transaction = result.is_ok(),
                    "COMMIT" | "ROLLBACK" => in_transaction = false,
                    _ => {}
                }
                result
            }
            Request::Query(sql, params) => run(&mut client, &mut statements, &sql, &params, |client, st, p| {
                client.query(st, p).map_err(error)?.iter().map(row).collect::<SqlResult<_>>().map(Reply::Rows)
            }),
            Request::Execute(sql, params) => run(&mut client, &mut statements, &sql, &params, |client, st, p| {
                client.execute(st, p).map(Reply::Count).map_err(error)
            }),
        };
        // After a failure outside a transaction, check the connection is still alive.
        if reply.is_err() && !in_transaction {
            broken = client.is_closed() || client.is_valid(Duration::from_secs(5)).is_err();
        }
        if outbox.send(reply).is_err() {
            return;
        }
    }
}

type Params<'a> = [&'a (dyn ToSql + Sync)];

fn run(
    client: &mut Client,
    statements: &mut HashMap<String, Statement>,
    sql: &str,
    params: &[Value],
    f: impl FnOnce(&mut Client, &Statement, &Params<'_>) -> SqlResult<Reply>,
) -> SqlResult<Reply> {
    let statement = match statements.get(sql) {
        Some(s) => s.clone(),
        None => {
            let s = client.prepare(sql).map_err(error)?;
            statements.insert(sql.to_string(), s.clone());
            s
        }
    };
    let bound: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
    f(client, &statement, &bound)
}

/// Result cells: INT2/INT4/INT8/BOOL become integers, TEXT-like columns text, BYTEA bytes.
fn row(r: &postgres::Row) -> SqlResult<Row> {
    let get_err = |e| SqlError::Other(format!("database: {}", describe(&e)));
    let mut cells = Vec::with_capacity(r.len());
    for (i, column) in r.columns().iter().enumerate() {
        let ty = column.type_();
        let cell = match *ty {
            Type::INT2 => r.try_get::<_, Option<i16>>(i).map_err(get_err)?.map(|v| Value::Int(v.into())),
            Type::INT4 => r.try_get::<_, Option<i32>>(i).map_err(get_err)?.map(|v| Value::Int(v.into())),
            Type::INT8 => r.try_get::<_, Option<i64>>(i).map_err(get_err)?.map(Value::Int),
            Type::BOOL => r.try_get::<_, Option<bool>>(i).map_err(get_err)?.map(|v| Value::Int(v.into())),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => {
                r.try_get::<_, Option<String>>(i).map_err(get_err)?.map(Value::Text)
            }
            Type::BYTEA => r.try_get::<_, Option<Vec<u8>>>(i).map_err(get_err)?.map(Value::Blob),
            _ => {
                return Err(SqlError::Other(format!(
                    "database: column {} is of type {ty}, which the leaderboard does not read; cast it to BIGINT or TEXT",
                    column.name()
                )));
            }
        };
        cells.push(cell.unwrap_or(Value::Null));
    }
    Ok(Row(cells))
}

/// Parameters follow the type Postgres inferred for them: an integer binds to INT2/INT4/INT8
/// (range-checked) or BOOL, NULL to any type.
impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) => match *ty {
                Type::INT8 => v.to_sql(ty, out),
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                Type::BOOL => (*v != 0).to_sql(ty, out),
                _ => Err(format!("an integer cannot be bound to a {ty} parameter").into()),
            },
            Value::Text(s) if <String as ToSql>::accepts(ty) => s.to_sql(ty, out),
            Value::Blob(b) if <Vec<u8> as ToSql>::accepts(ty) => b.to_sql(ty, out),
            other => Err(format!("{} cannot be bound to a {ty} parameter", other.kind()).into()),
        }
    }

    /// Checked in `to_sql`, per value.
    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}
