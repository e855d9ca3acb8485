//! Full-text search over cases: what a case is indexed under, the deployment's dictionary, and
//! turning what someone typed into a query.
//!
//! **What is indexed.** A case's title, description, address, category path and the replies on
//! its timeline — never the requester's name or phone, and long digit runs in free text (a phone
//! number typed into a description) are masked first ([`linli_domain::open311::redact_numbers`]).
//! The terms are written in the transaction that writes the case: at intake (the filer) and when
//! a step changes what is indexed (a reply, a new category at 立案).
//!
//! **The dictionary.** jieba's own plus the deployment's names: every org unit (streets,
//! communities, grids, departments — whole and without their 街道/社区/办事处 suffixes) and the
//! dispatch catalogue's category names and keywords ([`load_dictionary`], run by `linli serve`
//! at start). Until it is loaded (tests, tools) jieba's dictionary alone is used. After the
//! dictionary grows, `linli search reindex` rewrites every case's terms.
//!
//! **Queries.** [`linli_text::query_groups`]: every word must match in some form (near-synonyms
//! such as 故障/坏/损坏 count as one); the case list applies them with the usual scope and
//! filters, newest first.

use std::sync::RwLock;

use linli_store::Tx;
use linli_store::repo::cases::CaseRow;
use linli_store::repo::search::{self as repo, Doc};
use linli_text::Segmenter;

pub use linli_text::{highlight, snippet};

use crate::{App, Result};

/// The segmenter search uses ([`App::search`]).
pub struct SearchDict(RwLock<Segmenter>);

impl Default for SearchDict {
    fn default() -> Self {
        SearchDict(RwLock::new(Segmenter::shared()))
    }
}

impl SearchDict {
    pub fn segmenter(&self) -> Segmenter {
        match self.0.read() {
            Ok(s) => s.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn set(&self, s: Segmenter) {
        match self.0.write() {
            Ok(mut g) => *g = s,
            Err(p) => *p.into_inner() = s,
        }
    }
}

/// The text a case is indexed under.
pub fn doc_text(c: &CaseRow, replies: &[String]) -> String {
    use linli_domain::open311::redact_numbers;
    let mut t = String::with_capacity(c.title.len() + c.description.len() + 200);
    for part in [
        c.title.as_str(),
        &redact_numbers(&c.description),
        &redact_numbers(&c.address),
        &c.category_name,
    ] {
        t.push_str(part);
        t.push('\n');
    }
    for r in replies {
        t.push_str(&redact_numbers(r));
        t.push('\n');
    }
    t
}

/// The index terms of a case, space-separated.
pub fn terms(seg: &Segmenter, c: &CaseRow, replies: &[String]) -> String {
    linli_text::index_terms(seg, &doc_text(c, replies)).join(" ")
}

/// The index terms of some texts, space-separated (for tools that write index rows directly).
pub fn text_terms(seg: &Segmenter, parts: &[&str]) -> String {
    linli_text::index_terms(seg, &parts.join("\n")).join(" ")
}

/// Write the index rows of new cases (the filer's batch), in its transaction.
pub async fn index_new(tx: &mut Tx, docs: Vec<(&CaseRow, String)>) -> Result<()> {
    let docs: Vec<Doc<'_>> = docs
        .into_iter()
        .map(|(c, terms)| Doc {
            tenant: &c.tenant,
            case_id: c.id,
            terms,
        })
        .collect();
    Ok(repo::upsert_many(tx, &docs).await?)
}

/// Rewrite one case's terms from the row and the replies on its timeline, in `tx`.
pub async fn reindex_tx(tx: &mut Tx, seg: &Segmenter, c: &CaseRow) -> Result<()> {
    let replies = linli_store::repo::cases::reply_notes_tx(tx, &c.tenant, c.id).await?;
    let t = terms(seg, c, &replies);
    Ok(repo::upsert_many(
        tx,
        &[Doc {
            tenant: &c.tenant,
            case_id: c.id,
            terms: t,
        }],
    )
    .await?)
}

/// What someone typed, as query groups (empty: nothing searchable in it).
pub fn query(app: &App, text: &str) -> Vec<Vec<String>> {
    let text: String = text.chars().take(200).collect();
    linli_text::query_groups(&app.search.segmenter(), &text)
}

/// Whether a list's free-text filter is a case number (or a piece of one) rather than words.
pub fn is_number_like(q: &str) -> bool {
    let q = q.trim();
    !q.is_empty() && q.chars().all(|c| c.is_ascii_digit() || c == '-')
}

/// Load the deployment's names into the search dictionary. Returns the number of words.
pub async fn load_dictionary(app: &App) -> Result<usize> {
    let mut words: Vec<(String, usize)> = Vec::new();
    let units = app
        .db
        .fetch_all(
            "SELECT name FROM org_units WHERE active = TRUE AND kind <> 'root'",
            vec![],
            |r| r.text("name"),
        )
        .await?;
    for name in units {
        words.push((name.clone(), 0));
        for suffix in [
            "街道办事处",
            "地区办事处",
            "办事处",
            "街道",
            "社区居委会",
            "居委会",
            "社区",
            "村委会",
        ] {
            if let Some(stem) = name.strip_suffix(suffix)
                && stem.chars().count() >= 2
            {
                words.push((stem.to_string(), 0));
            }
        }
    }
    let items = app
        .db
        .fetch_all("SELECT name, keywords FROM catalogue_items", vec![], |r| {
            Ok((r.text("name")?, r.text("keywords")?))
        })
        .await?;
    for (name, keywords) in items {
        words.push((name, 0));
        for k in keywords
            .split([',', '，', ';', '；', ' ', '、'])
            .map(str::trim)
            .filter(|k| k.chars().count() >= 2)
        {
            words.push((k.to_string(), 0));
        }
    }
    words.sort();
    words.dedup();
    let n = words.len();
    let seg = tokio::task::spawn_blocking(move || Segmenter::with_user_words(words))
        .await
        .map_err(|e| crate::AppError::Internal(format!("dictionary task: {e}")))?;
    app.search.set(seg);
    Ok(n)
}

/// Rewrite every case's terms (after the dictionary changed). Returns the cases indexed.
pub async fn reindex_all(app: &App, progress: &dyn Fn(usize)) -> Result<usize> {
    let seg = app.search.segmenter();
    let mut after = None;
    let mut done = 0;
    loop {
        let keys = repo::case_keys(&app.db, after.clone(), 500).await?;
        let Some(last) = keys.last().cloned() else {
            break;
        };
        write_tx!(app, |tx| {
            for (tenant, id) in &keys {
                if let Some(c) = linli_store::repo::cases::get_tx(&mut tx, tenant, *id).await? {
                    reindex_tx(&mut tx, &seg, &c).await?;
                }
            }
        })?;
        done += keys.len();
        progress(done);
        after = Some(last);
    }
    Ok(done)
}
