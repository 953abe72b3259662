//! The calls table in SQLite, through sqlx. Each query is a monitored function with
//! `op = "db.query"`, so slow or failing queries show up per function.

use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteRow};
use vk_monitor::monitored;

#[derive(Clone)]
pub struct CallRepository {
    pool: SqlitePool,
}

#[derive(Debug, Serialize)]
pub struct Call {
    pub id: i64,
    pub caller: String,
    pub callee: String,
    pub status: String,
    pub started_at: f64,
    pub ended_at: Option<f64>,
}

impl Call {
    fn from_row(row: &SqliteRow) -> Result<Self, sqlx::Error> {
        Ok(Call {
            id: row.try_get("id")?,
            caller: row.try_get("caller")?,
            callee: row.try_get("callee")?,
            status: row.try_get("status")?,
            started_at: row.try_get("started_at")?,
            ended_at: row.try_get("ended_at")?,
        })
    }

    pub fn is_active(&self) -> bool {
        self.status == "active"
    }
}

pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl CallRepository {
    /// Opens `url`, or an in-memory database when there is none, and creates the table.
    pub async fn connect(url: Option<&str>) -> Result<Self, sqlx::Error> {
        let pool = match url {
            Some(url) => {
                let options = SqliteConnectOptions::from_str(url)?.create_if_missing(true);
                SqlitePoolOptions::new()
                    .max_connections(8)
                    .connect_with(options)
                    .await?
            }
            // Every connection to `:memory:` is a database of its own: keep exactly one.
            None => {
                SqlitePoolOptions::new()
                    .min_connections(1)
                    .max_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .connect("sqlite::memory:")
                    .await?
            }
        };
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS calls (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                caller TEXT NOT NULL,
                callee TEXT NOT NULL,
                status TEXT NOT NULL,
                started_at REAL NOT NULL,
                ended_at REAL
            )",
        )
        .execute(&pool)
        .await?;
        Ok(CallRepository { pool })
    }

    /// A real round trip to the database, for the readiness check.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    #[monitored(op = "db.query")]
    pub async fn insert(&self, caller: &str, callee: &str) -> Result<Call, sqlx::Error> {
        let row = sqlx::query(
            "INSERT INTO calls (caller, callee, status, started_at) VALUES (?, ?, 'active', ?)
             RETURNING *",
        )
        .bind(caller)
        .bind(callee)
        .bind(now())
        .fetch_one(&self.pool)
        .await?;
        Call::from_row(&row)
    }

    #[monitored(op = "db.query")]
    pub async fn find(&self, id: i64) -> Result<Option<Call>, sqlx::Error> {
        let row = sqlx::query("SELECT * FROM calls WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(Call::from_row).transpose()
    }

    #[monitored(op = "db.query")]
    pub async fn recent(&self, limit: i64) -> Result<Vec<Call>, sqlx::Error> {
        sqlx::query("SELECT * FROM calls ORDER BY id DESC LIMIT ?")
            .bind(limit)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(Call::from_row)
            .collect()
    }

    /// Ends an active call; `None` when it was not active (already ended or missing).
    #[monitored(op = "db.query")]
    pub async fn end(&self, id: i64, outcome: &str) -> Result<Option<Call>, sqlx::Error> {
        let row = sqlx::query(
            "UPDATE calls SET status = ?, ended_at = ? WHERE id = ? AND status = 'active'
             RETURNING *",
        )
        .bind(outcome)
        .bind(now())
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(Call::from_row).transpose()
    }
}
