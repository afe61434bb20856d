//! The shape shared by the flow tables (`outbound_attempts`, `transfers`): rows keyed by one text column, read
//! whole through a `from_row`, fields set once (`COALESCE`), and a `status` moved only by conditional updates on
//! its current value, so a retried webhook or a late callback changes nothing once the row has moved on.
//! Table and column names are constants of the callers, never input; values are always bound.

use sqlx::any::AnyRow;

use super::{now_unix, Db};

/// A table with a text key, `status`, `reason` and `updated_at` columns.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StatusTable {
    /// Table name.
    pub table: &'static str,
    /// Key column.
    pub key: &'static str,
    /// The columns `from_row` reads, in its order.
    pub columns: &'static str,
}

impl StatusTable {
    /// The first row matching `filter` (placeholders `$1…` for `binds`), in `order`.
    pub(crate) async fn one<T>(
        &self,
        db: &Db,
        filter: &str,
        order: &str,
        binds: &[&str],
        from_row: fn(&AnyRow) -> Result<T, sqlx::Error>,
    ) -> Result<Option<T>, sqlx::Error> {
        let sql = format!(
            "SELECT {} FROM {} WHERE {filter} {order} LIMIT 1",
            self.columns, self.table
        );
        let mut q = sqlx::query(&sql);
        for b in binds {
            q = q.bind(*b);
        }
        q.fetch_optional(&db.pool)
            .await?
            .as_ref()
            .map(from_row)
            .transpose()
    }

    /// Sets `column` of row `key` to `value` unless it is set already.
    pub(crate) async fn set_once(
        &self,
        db: &Db,
        key: &str,
        column: &'static str,
        value: &str,
    ) -> Result<(), sqlx::Error> {
        let sql = format!(
            "UPDATE {t} SET {column} = COALESCE({column}, $1), updated_at = $2 WHERE {k} = $3",
            t = self.table,
            k = self.key
        );
        sqlx::query(&sql)
            .bind(value)
            .bind(now_unix())
            .bind(key)
            .execute(&db.pool)
            .await?;
        Ok(())
    }

    /// Moves row `key` from one of `from` to `to` (keeping the first `reason`); `true` only for the caller that
    /// made the change.
    pub(crate) async fn transition(
        &self,
        db: &Db,
        key: &str,
        from: &[&'static str],
        to: &'static str,
        reason: Option<&str>,
    ) -> Result<bool, sqlx::Error> {
        if from.is_empty() {
            return Ok(false);
        }
        let allowed: Vec<String> = (0..from.len()).map(|i| format!("${}", i + 5)).collect();
        let sql = format!(
            "UPDATE {t} SET status = $1, reason = COALESCE($2, reason), updated_at = $3 \
             WHERE {k} = $4 AND status IN ({})",
            allowed.join(", "),
            t = self.table,
            k = self.key
        );
        let mut q = sqlx::query(&sql)
            .bind(to)
            .bind(reason)
            .bind(now_unix())
            .bind(key);
        for status in from {
            q = q.bind(*status);
        }
        Ok(q.execute(&db.pool).await?.rows_affected() == 1)
    }
}
