//! Workflow configuration documents (`{"task_routing": {"filters": […], "default_filter": {…}}}`).
//!
//! The subset the product uses: first-match `filters` with an `expression` over task attributes, each with ordered
//! `targets` (`queue`, `expression`, `known_worker_sid`, `priority`, `timeout`, `skip_if`, `order_by`), and a
//! `default_filter` queue. Queue references are SIDs or friendly names, resolved by the caller.

use serde::Deserialize;

use super::expr::{parse_operand, Expr, ExprError, Operand};

/// Largest configuration document accepted, in bytes.
pub const MAX_CONFIG_LEN: usize = 64 * 1024;

/// Why a workflow configuration is rejected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkflowError {
    /// Not JSON or wrong shape.
    #[error("workflow configuration is not valid JSON of the expected shape: {0}")]
    Json(#[from] serde_json::Error),
    /// A filter or target expression does not parse.
    #[error("{0}")]
    Expr(#[from] ExprError),
    /// The document is too large or otherwise unusable.
    #[error("{0}")]
    Invalid(&'static str),
}

/// A parsed workflow.
#[derive(Debug, Clone)]
pub struct Routing {
    /// Filters, evaluated first-match, top to bottom.
    pub filters: Vec<Filter>,
    /// Queue used when no filter matches.
    pub default_queue: Option<String>,
}

/// One filter.
#[derive(Debug, Clone)]
pub struct Filter {
    /// `filter_friendly_name`.
    pub name: String,
    /// Expression over task attributes.
    pub expression: Expr,
    /// Ordered routing steps.
    pub targets: Vec<Target>,
}

/// One routing step.
#[derive(Debug, Clone)]
pub struct Target {
    /// Queue SID or friendly name.
    pub queue: String,
    /// Extra worker condition (may reference `task.`).
    pub expression: Option<Expr>,
    /// Route only to this worker (an expression such as `task.owner_worker_sid`, or a literal SID).
    pub known_worker_sid: Option<Operand>,
    /// Task priority while in this step.
    pub priority: Option<i64>,
    /// Seconds before moving on to the next step (cumulative from entering this step).
    pub timeout: Option<u64>,
    /// Skip this step when true and no reservation could be made at once (`workers.available == 0`).
    pub skip_if: Option<Expr>,
    /// Worker ordering: `(attribute path, descending)`.
    pub order_by: Vec<(Vec<String>, bool)>,
}

#[derive(Deserialize)]
struct Doc {
    task_routing: RawRouting,
}
#[derive(Deserialize)]
struct RawRouting {
    #[serde(default)]
    filters: Vec<RawFilter>,
    #[serde(default)]
    default_filter: Option<RawDefault>,
}
#[derive(Deserialize)]
struct RawDefault {
    queue: String,
}
#[derive(Deserialize)]
struct RawFilter {
    #[serde(default)]
    filter_friendly_name: String,
    #[serde(default)]
    expression: Option<String>,
    #[serde(default)]
    targets: Vec<RawTarget>,
}
#[derive(Deserialize)]
struct RawTarget {
    queue: String,
    #[serde(default)]
    expression: Option<String>,
    #[serde(default)]
    known_worker_sid: Option<String>,
    #[serde(default)]
    priority: Option<i64>,
    #[serde(default)]
    timeout: Option<u64>,
    #[serde(default)]
    skip_if: Option<String>,
    #[serde(default)]
    order_by: Option<String>,
}

impl Routing {
    /// Parses a configuration document.
    pub fn parse(json: &str) -> Result<Self, WorkflowError> {
        if json.len() > MAX_CONFIG_LEN {
            return Err(WorkflowError::Invalid(
                "workflow configuration is too large",
            ));
        }
        let doc: Doc = serde_json::from_str(json)?;
        let mut filters = Vec::with_capacity(doc.task_routing.filters.len());
        for f in doc.task_routing.filters {
            let expression = Expr::parse(f.expression.as_deref().unwrap_or("1==1"))?;
            let mut targets = Vec::with_capacity(f.targets.len());
            for t in f.targets {
                targets.push(Target {
                    queue: t.queue,
                    expression: t.expression.as_deref().map(Expr::parse).transpose()?,
                    known_worker_sid: t
                        .known_worker_sid
                        .as_deref()
                        .map(known_worker)
                        .transpose()?,
                    priority: t.priority,
                    timeout: t.timeout,
                    skip_if: t.skip_if.as_deref().map(Expr::parse).transpose()?,
                    order_by: t.order_by.as_deref().map(order_by).unwrap_or_default(),
                });
            }
            if targets.is_empty() {
                return Err(WorkflowError::Invalid("a filter needs at least one target"));
            }
            filters.push(Filter {
                name: f.filter_friendly_name,
                expression,
                targets,
            });
        }
        Ok(Self {
            filters,
            default_queue: doc.task_routing.default_filter.map(|d| d.queue),
        })
    }

    /// Every queue reference in the document (for validation against the workspace).
    pub fn queue_refs(&self) -> impl Iterator<Item = &str> {
        self.filters
            .iter()
            .flat_map(|f| f.targets.iter().map(|t| t.queue.as_str()))
            .chain(self.default_queue.as_deref())
    }
}

fn known_worker(s: &str) -> Result<Operand, ExprError> {
    if s.starts_with("WK") && s.len() == 34 {
        Ok(Operand::Lit(serde_json::Value::String(s.to_owned())))
    } else {
        parse_operand(s)
    }
}

/// `"worker.level DESC, worker.name"` → `[(["worker","level"], true), (["worker","name"], false)]`.
fn order_by(s: &str) -> Vec<(Vec<String>, bool)> {
    s.split(',')
        .filter_map(|part| {
            let mut words = part.split_whitespace();
            let path = words.next()?;
            let desc = words.next().is_some_and(|d| d.eq_ignore_ascii_case("DESC"));
            Some((path.split('.').map(str::to_owned).collect(), desc))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC_WORKFLOW: &str = r#"{"task_routing":{"filters":[
 {"filter_friendly_name":"inbound-owner","expression":"type == 'inbound_call' AND route_owner == true",
  "targets":[
   {"queue":"WQ_ALL","known_worker_sid":"task.owner_worker_sid","priority":20,"timeout":10},
   {"queue":"WQ_ALL","expression":"worker.department_id == task.department_id","priority":10,"timeout":30},
   {"queue":"WQ_ALL","priority":10}]},
 {"filter_friendly_name":"inbound-no-owner","expression":"type == 'inbound_call'",
  "targets":[
   {"queue":"WQ_ALL","expression":"worker.department_id == task.department_id","priority":10,"timeout":30,"skip_if":"workers.available == 0","order_by":"worker.level DESC"},
   {"queue":"WQ_ALL","priority":10}]}],
 "default_filter":{"queue":"WQ_ALL"}}}"#;

    #[test]
    fn parses_the_backend_spec_workflow() {
        let r = Routing::parse(SPEC_WORKFLOW).unwrap();
        assert_eq!(r.filters.len(), 2);
        assert_eq!(r.filters[0].targets.len(), 3);
        assert_eq!(r.filters[0].targets[0].timeout, Some(10));
        assert!(r.filters[0].targets[0].known_worker_sid.is_some());
        assert_eq!(
            r.filters[1].targets[0].order_by,
            vec![(vec!["worker".into(), "level".into()], true)]
        );
        assert!(r.filters[1].targets[0].skip_if.is_some());
        assert_eq!(r.default_queue.as_deref(), Some("WQ_ALL"));
        assert_eq!(r.queue_refs().count(), 6);
    }

    #[test]
    fn rejects_bad_documents() {
        assert!(Routing::parse("").is_err());
        assert!(Routing::parse("{}").is_err());
        assert!(Routing::parse(
            r#"{"task_routing":{"filters":[{"expression":"a ==","targets":[{"queue":"q"}]}]}}"#
        )
        .is_err());
        assert!(Routing::parse(
            r#"{"task_routing":{"filters":[{"expression":"1==1","targets":[]}]}}"#
        )
        .is_err());
    }
}
