//! The CRM lookup: `customers` (phone → customer, owner agent, department) and the encoding of display strings
//! for task attributes (spec §4.3: routing attributes stay ASCII, names travel percent-encoded), and the customer
//! context pushed to agents ([`context`]).

use sqlx::Row as _;

use crate::db::Db;
use crate::events::{CustomerInfo, DepartmentInfo, OwnerInfo};

/// A known caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    /// CRM id.
    pub id: String,
    /// Display name (UTF-8).
    pub name: String,
    /// Department id.
    pub department_id: Option<String>,
    /// Owner agent id.
    pub owner_agent_id: Option<String>,
    /// The owner's TaskRouter worker.
    pub owner_worker_sid: Option<String>,
}

const COLUMNS: &str = "c.id, c.name, c.department_id, c.owner_agent_id, a.worker_sid";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Customer, sqlx::Error> {
    Ok(Customer {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        department_id: r.try_get(2)?,
        owner_agent_id: r.try_get(3)?,
        owner_worker_sid: r.try_get(4)?,
    })
}

/// Looks a caller up by E.164 number.
pub async fn by_phone(db: &Db, phone: &str) -> Result<Option<Customer>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM customers c LEFT JOIN agents a ON a.id = c.owner_agent_id WHERE c.phone = $1");
    let row = sqlx::query(&sql)
        .bind(phone)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Looks a customer up by id.
pub async fn by_id(db: &Db, id: &str) -> Result<Option<Customer>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM customers c LEFT JOIN agents a ON a.id = c.owner_agent_id WHERE c.id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(&db.pool).await?;
    row.as_ref().map(from_row).transpose()
}

/// The customer as the agent sees it on a call (s14 contract §8): id, name, owner agent and department, joined
/// from `customers.owner_agent_id` → `agents` and `customers.department_id` → `departments`.
pub async fn context(db: &Db, id: &str) -> Result<Option<CustomerInfo>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT c.id, c.name, a.id, a.display_name, d.id, d.name FROM customers c \
         LEFT JOIN agents a ON a.id = c.owner_agent_id LEFT JOIN departments d ON d.id = c.department_id \
         WHERE c.id = $1",
    )
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let pair = |i: usize| -> Result<Option<(String, String)>, sqlx::Error> {
        Ok(r.try_get::<Option<String>, _>(i)?
            .zip(r.try_get::<Option<String>, _>(i + 1)?))
    };
    Ok(Some(CustomerInfo {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        owner: pair(2)?.map(|(agent_id, display_name)| OwnerInfo {
            agent_id,
            display_name,
        }),
        department: pair(4)?.map(|(id, name)| DepartmentInfo { id, name }),
    }))
}

/// Percent-encodes UTF-8 exactly like JavaScript's `encodeURIComponent` (space → `%20`).
pub fn encode_uri_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_encode_uri_component() {
        // Spec §4.2 example.
        assert_eq!(
            encode_uri_component("山田 花子"),
            "%E5%B1%B1%E7%94%B0%20%E8%8A%B1%E5%AD%90"
        );
        assert_eq!(
            encode_uri_component("a-b_c.d!~*'()&=+/"),
            "a-b_c.d!~*'()%26%3D%2B%2F"
        );
    }
}
