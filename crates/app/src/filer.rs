//! Group commit for intake: new cases that arrive together are written in one transaction.
//!
//! A 12345 centre at its peak files hundreds of cases a second, and each one costs a write
//! transaction with the case, its parties, its timeline row and its audit link. Written one by
//! one, intake spends its time in per-statement round trips and commits (and on SQLite, whose
//! writers queue on one lock, in waiting). The filer queues each prepared [`Filing`]; whoever
//! finds the queue not being written takes the writer's turn and writes everything queued so
//! far, in batches of at most [`MAX_BATCH`], with one multi-row INSERT per table and one head
//! bump per audit chain. Under light load a batch is a single case, written at once; under heavy
//! load batches grow by themselves, which is what keeps latency flat.
//!
//! Nothing is weaker than a transaction per case: every case is committed before its caller
//! hears back, its audit link is made in the same transaction, and idempotent repeats
//! (`external_id`) are recognised against the database and within the batch. When a batch
//! fails for a reason the retry helper does not cure, each of its cases is written again on its
//! own, so one bad case answers with its own error and never takes the others down.
//!
//! Each new case's `case.received` event goes to the notification outbox in the same
//! transaction ([`crate::notify`]).
//!
//! The write runs in a task of its own, so a caller that goes away (a client hanging up) cannot
//! cancel a transaction that carries other callers' cases.

use std::collections::HashMap;
use std::sync::Mutex;

use linli_domain::case::Channel;
use linli_store::Tx;
use linli_store::repo::audit::{self as audit_repo, Entry};
use linli_store::repo::cases::{self as repo, CaseRow, Event as TimelineEvent, NewParty};
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::notify::CaseEvent;
use crate::{App, AppError, Result};

/// Cases per write transaction.
pub const MAX_BATCH: usize = 256;

/// A new case, ready to be written: the row, its parties, its first timeline row and its audit
/// entry.
#[derive(Debug, Clone)]
pub struct Filing {
    pub row: CaseRow,
    /// `(unit, role, unit path)`.
    pub parties: Vec<(Uuid, &'static str, String)>,
    pub event: TimelineEvent,
    pub audit: Entry,
    /// The case's full-text terms ([`crate::search::terms`]), written with it.
    pub terms: String,
}

/// The case as stored, and whether this filing created it (false: an idempotent repeat that
/// found the case filed before).
pub type Filed = (CaseRow, bool);

struct Job {
    filing: Filing,
    reply: oneshot::Sender<Result<Filed>>,
}

/// The process's intake queue ([`App::filer`]).
#[derive(Default)]
pub struct Filer {
    queue: Mutex<Vec<Job>>,
    /// Held by the task writing the queue; one writer per process at a time.
    writer: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl Filer {
    /// File one case: queue it, and write the queue unless a writer already has it in hand.
    /// Returns once the case is committed (or refused).
    pub async fn file(&self, app: &App, filing: Filing) -> Result<Filed> {
        let (reply, mut answer) = oneshot::channel();
        self.lock_queue()?.push(Job { filing, reply });
        loop {
            tokio::select! {
                biased;
                a = &mut answer => return a.unwrap_or_else(|_| Err(lost())),
                guard = self.writer.clone().lock_owned() => {
                    let jobs = std::mem::take(&mut *self.lock_queue()?);
                    if jobs.is_empty() {
                        // An earlier writer took this case; its answer is on the way.
                        drop(guard);
                        return (&mut answer).await.unwrap_or_else(|_| Err(lost()));
                    }
                    let app = app.clone();
                    tokio::spawn(async move {
                        write_all(&app, jobs).await;
                        drop(guard);
                    });
                }
            }
        }
    }

    fn lock_queue(&self) -> Result<std::sync::MutexGuard<'_, Vec<Job>>> {
        self.queue
            .lock()
            .map_err(|_| AppError::Internal("intake queue poisoned".into()))
    }
}

fn lost() -> AppError {
    AppError::Internal("intake writer stopped before answering".into())
}

/// Write the jobs in batches and answer each.
async fn write_all(app: &App, mut jobs: Vec<Job>) {
    while !jobs.is_empty() {
        let rest = jobs.split_off(jobs.len().min(MAX_BATCH));
        let filings: Vec<&Filing> = jobs.iter().map(|j| &j.filing).collect();
        match write_tx!(app, |tx| { write_filings(&mut tx, &filings).await? }) {
            Ok(filed) => {
                for (job, f) in jobs.into_iter().zip(filed) {
                    let _ = job.reply.send(Ok(f));
                }
            }
            Err(e) if jobs.len() == 1 => {
                if let Some(job) = jobs.pop() {
                    let _ = job.reply.send(Err(e));
                }
            }
            Err(_) => {
                // One of them spoiled the batch: write each alone so each hears its own answer.
                for job in jobs {
                    let one = [&job.filing];
                    let r = write_tx!(app, |tx| { write_filings(&mut tx, &one).await? });
                    let _ = job.reply.send(r.map(|mut v| v.remove(0)));
                }
            }
        }
        jobs = rest;
    }
}

/// Write new cases in `tx`, in order, with as few statements as their number allows. A filing
/// whose `external_id` its channel already knows (in the database, or earlier in the same
/// batch) writes nothing and answers with the case filed first.
pub async fn write_filings(tx: &mut Tx, filings: &[&Filing]) -> Result<Vec<Filed>> {
    enum Out<'a> {
        New(&'a Filing),
        Known(Box<CaseRow>),
        SameAs(usize),
    }
    // Every repeat of the batch in one query, then in order: a key the database knows, or one
    // an earlier filing of the batch takes.
    let keys: Vec<(&str, Channel, &str)> = filings
        .iter()
        .filter_map(|f| {
            let r = &f.row;
            r.external_id
                .as_deref()
                .map(|x| (r.tenant.as_str(), r.channel, x))
        })
        .collect();
    let mut known: HashMap<(String, Channel, String), CaseRow> = repo::by_externals(tx, &keys)
        .await?
        .into_iter()
        .filter_map(|c| {
            let x = c.external_id.clone()?;
            Some(((c.tenant.clone(), c.channel, x), c))
        })
        .collect();
    let mut outs = Vec::with_capacity(filings.len());
    let mut seen: HashMap<(&str, Channel, &str), usize> = HashMap::new();
    for (i, f) in filings.iter().enumerate() {
        let r = &f.row;
        if let Some(x) = r.external_id.as_deref() {
            let key = (r.tenant.as_str(), r.channel, x);
            if let Some(&first) = seen.get(&key) {
                outs.push(Out::SameAs(first));
                continue;
            }
            if let Some(row) = known.remove(&(r.tenant.clone(), r.channel, x.to_string())) {
                // Later repeats of the same key answer with the same stored case.
                seen.insert(key, i);
                outs.push(Out::Known(Box::new(row)));
                continue;
            }
            seen.insert(key, i);
        }
        outs.push(Out::New(f));
    }
    let new: Vec<&Filing> = outs
        .iter()
        .filter_map(|o| match o {
            Out::New(f) => Some(*f),
            _ => None,
        })
        .collect();
    if !new.is_empty() {
        let rows: Vec<&CaseRow> = new.iter().map(|f| &f.row).collect();
        repo::insert_many(tx, &rows).await?;
        let parties: Vec<NewParty<'_>> = new
            .iter()
            .flat_map(|f| {
                f.parties.iter().map(|(unit_id, role, path)| NewParty {
                    tenant: &f.row.tenant,
                    case_id: f.row.id,
                    unit_id: *unit_id,
                    role,
                    unit_path: path,
                    since: f.row.created_at,
                })
            })
            .collect();
        repo::add_parties_many(tx, &parties).await?;
        let events: Vec<&TimelineEvent> = new.iter().map(|f| &f.event).collect();
        repo::insert_events(tx, &events).await?;
        audit_repo::append_many(tx, new.iter().map(|f| f.audit.clone()).collect()).await?;
        let told: Vec<CaseEvent<'_>> = new
            .iter()
            .map(|f| CaseEvent {
                case: &f.row,
                action: &f.event.action,
                to: f.row.life.state,
            })
            .collect();
        crate::notify::enqueue(tx, &told, filings[0].row.created_at).await?;
        crate::search::index_new(tx, new.iter().map(|f| (&f.row, f.terms.clone())).collect())
            .await?;
    }
    let mut filed: Vec<Filed> = Vec::with_capacity(outs.len());
    for o in outs {
        let f = match o {
            Out::New(f) => (f.row.clone(), true),
            Out::Known(row) => (*row, false),
            Out::SameAs(i) => (filed[i].0.clone(), false),
        };
        filed.push(f);
    }
    Ok(filed)
}

#[cfg(test)]
mod tests;
