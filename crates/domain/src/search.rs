//! Full-text ranking (BM25) for archival and conversation search, shared by the stores.

fn terms(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| t.chars().count() >= 2)
        .map(str::to_lowercase)
        .collect()
}

/// Query terms worth searching for (lower-case, de-duplicated, at most 8).
pub fn query_terms(query: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in terms(query) {
        if !out.contains(&t) && out.len() < 8 {
            out.push(t);
        }
    }
    out
}

/// Ranks documents against a query with BM25 (k1 = 1.2, b = 0.75); returns `(index, score)` of
/// documents with a positive score, best first (ties keep input order).
pub fn rank_bm25(query: &str, docs: &[&str]) -> Vec<(usize, f64)> {
    let q = query_terms(query);
    if q.is_empty() || docs.is_empty() {
        return Vec::new();
    }
    let tokenised: Vec<Vec<String>> = docs.iter().map(|d| terms(d)).collect();
    let n = docs.len() as f64;
    let avg_len = tokenised.iter().map(Vec::len).sum::<usize>() as f64 / n;
    let idf: Vec<f64> = q
        .iter()
        .map(|t| {
            let df = tokenised.iter().filter(|d| d.contains(t)).count() as f64;
            ((n - df + 0.5) / (df + 0.5) + 1.0).ln()
        })
        .collect();
    let mut scored: Vec<(usize, f64)> = tokenised
        .iter()
        .enumerate()
        .map(|(i, doc)| {
            let len = doc.len() as f64;
            let score = q
                .iter()
                .zip(&idf)
                .map(|(t, idf)| {
                    let tf = doc.iter().filter(|w| *w == t).count() as f64;
                    idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * len / avg_len.max(1.0)))
                })
                .sum::<f64>();
            (i, score)
        })
        .filter(|(_, s)| *s > 0.0)
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    scored
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bm25_prefers_documents_with_more_and_rarer_matches() {
        let docs = [
            "Prefers drive-thru QSR sites near highway exits",
            "Quarterly review of grocery anchors",
            "QSR QSR drive-thru pipeline in Dallas",
            "nothing relevant",
        ];
        let ranked = rank_bm25("drive-thru QSR", &docs);
        let order: Vec<usize> = ranked.iter().map(|r| r.0).collect();
        assert_eq!(order, vec![2, 0]);
        assert!(rank_bm25("", &docs).is_empty());
        assert!(rank_bm25("zzz", &docs).is_empty());
    }
}
