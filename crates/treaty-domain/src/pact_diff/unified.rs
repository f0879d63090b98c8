//! A line diff printed in unified format exactly as the Pact Broker prints
//! it: Ruby's diff-lcs 1.6 (its longest common subsequence, its hunks of
//! three lines of context) driven by pact-support's `Differ`.
//!
//! Why not a diff crate: two texts usually have several longest common
//! subsequences, and pretty-printed JSON has many identical lines (`},`,
//! `]`); Myers' algorithm (`similar`) picks another one than diff-lcs's
//! Hunt–Szymanski does, and prints other hunks. Clients compare this text
//! with the Pact Broker's, so the choice must be diff-lcs's.

use std::collections::HashMap;

/// One line removed from the old text or added from the new one.
#[derive(Debug, Clone, Copy)]
struct Change {
    adding: bool,
    /// Index in the old text (removal) or in the new text (addition).
    position: usize,
}

/// For each index of `a`, the index of `b` it is matched with
/// (`Diff::LCS::Internals.lcs`); as long as the last matched index of `a`.
fn lcs(a: &[&str], b: &[&str]) -> Vec<Option<usize>> {
    let mut vector: Vec<Option<usize>> = Vec::new();
    let set = |vector: &mut Vec<Option<usize>>, i: usize, j: usize| {
        if vector.len() <= i {
            vector.resize(i + 1, None);
        }
        vector[i] = Some(j);
    };
    if a.is_empty() || b.is_empty() {
        return vector;
    }
    let (mut a_start, mut b_start) = (0usize, 0usize);
    let (mut a_finish, mut b_finish) = (a.len() as isize - 1, b.len() as isize - 1);
    while a_start as isize <= a_finish && b_start as isize <= b_finish && a[a_start] == b[b_start] {
        set(&mut vector, a_start, b_start);
        a_start += 1;
        b_start += 1;
    }
    while a_start as isize <= a_finish
        && b_start as isize <= b_finish
        && a[a_finish as usize] == b[b_finish as usize]
    {
        set(&mut vector, a_finish as usize, b_finish as usize);
        a_finish -= 1;
        b_finish -= 1;
    }
    let mut b_matches: HashMap<&str, Vec<usize>> = HashMap::new();
    if b_start as isize <= b_finish {
        for (j, line) in b
            .iter()
            .enumerate()
            .take(b_finish as usize + 1)
            .skip(b_start)
        {
            b_matches.entry(line).or_default().push(j);
        }
    }
    // Each link: (the link before it, i, j), in an arena.
    let mut arena: Vec<(Option<usize>, usize, usize)> = Vec::new();
    let mut links: Vec<Option<usize>> = Vec::new();
    let mut thresh: Vec<usize> = Vec::new();
    if a_start as isize <= a_finish {
        for (i, line) in a
            .iter()
            .enumerate()
            .take(a_finish as usize + 1)
            .skip(a_start)
        {
            let Some(matches) = b_matches.get(line) else {
                continue;
            };
            let mut k: Option<usize> = None;
            for &j in matches.iter().rev() {
                match k {
                    Some(k) if k > 0 && thresh[k] > j && thresh[k - 1] < j => thresh[k] = j,
                    _ => k = replace_next_larger(&mut thresh, j, k),
                }
                if let Some(k) = k {
                    let before = if k > 0 { links[k - 1] } else { None };
                    arena.push((before, i, j));
                    if links.len() <= k {
                        links.resize(k + 1, None);
                    }
                    links[k] = Some(arena.len() - 1);
                }
            }
        }
    }
    if !thresh.is_empty() {
        let mut link = links[thresh.len() - 1];
        while let Some(index) = link {
            let (before, i, j) = arena[index];
            set(&mut vector, i, j);
            link = before;
        }
    }
    vector
}

/// Replaces the smallest value larger than `value` with it (or appends),
/// searching up to `last_index`; `None` when `value` is already there.
fn replace_next_larger(
    thresh: &mut Vec<usize>,
    value: usize,
    last_index: Option<usize>,
) -> Option<usize> {
    if thresh.last().is_none_or(|&last| value > last) {
        thresh.push(value);
        return Some(thresh.len() - 1);
    }
    let mut first: isize = 0;
    let mut last: isize = last_index.unwrap_or(thresh.len() - 1) as isize;
    while first <= last {
        let i = ((first + last) >> 1) as usize;
        let found = thresh[i];
        if value == found {
            return None;
        }
        if value > found {
            first = i as isize + 1;
        } else {
            last = i as isize - 1;
        }
    }
    thresh[first as usize] = value;
    Some(first as usize)
}

/// The runs of changes between matched lines (`Diff::LCS.diff` with its
/// default callbacks, including the order it reports a tail in).
fn pieces(a: &[&str], b: &[&str]) -> Vec<Vec<Change>> {
    let matches = lcs(a, b);
    let mut pieces = Vec::new();
    let mut piece = Vec::new();
    let (mut ai, mut bj) = (0usize, 0usize);
    let remove = |piece: &mut Vec<Change>, ai: usize| {
        piece.push(Change {
            adding: false,
            position: ai,
        })
    };
    let add = |piece: &mut Vec<Change>, bj: usize| {
        piece.push(Change {
            adding: true,
            position: bj,
        })
    };
    for matched in &matches {
        match matched {
            None => remove(&mut piece, ai),
            Some(b_line) => {
                while bj < *b_line {
                    add(&mut piece, bj);
                    bj += 1;
                }
                if !piece.is_empty() {
                    pieces.push(std::mem::take(&mut piece));
                }
                bj += 1;
            }
        }
        ai += 1;
    }
    let (a_size, b_size) = (a.len(), b.len());
    while ai < a_size || bj < b_size {
        if ai == a_size && bj < b_size {
            while bj < b_size {
                add(&mut piece, bj);
                bj += 1;
            }
        }
        if bj == b_size && ai < a_size {
            // diff-lcs's loop here ends after one line (its condition is on b).
            remove(&mut piece, ai);
            ai += 1;
        }
        if ai < a_size {
            remove(&mut piece, ai);
            ai += 1;
        }
        if bj < b_size {
            add(&mut piece, bj);
            bj += 1;
        }
    }
    if !piece.is_empty() {
        pieces.push(piece);
    }
    pieces
}

/// A group of pieces close enough to share their context (`Diff::LCS::Hunk`).
struct Hunk {
    blocks: Vec<Vec<Change>>,
    start_old: isize,
    start_new: isize,
    end_old: isize,
    end_new: isize,
    file_length_difference: isize,
}

const CONTEXT: isize = 3;

impl Hunk {
    fn new(old_size: usize, piece: Vec<Change>, file_length_difference: isize) -> Self {
        let removed: Vec<isize> = piece
            .iter()
            .filter(|c| !c.adding)
            .map(|c| c.position as isize)
            .collect();
        let inserted: Vec<isize> = piece
            .iter()
            .filter(|c| c.adding)
            .map(|c| c.position as isize)
            .collect();
        let before = file_length_difference;
        let after = before + inserted.len() as isize - removed.len() as isize;
        let (a1, a2) = (removed.first().copied(), removed.last().copied());
        let (b1, b2) = (inserted.first().copied(), inserted.last().copied());
        // A piece always removes or adds something, so one side is there.
        let mut start_old = a1.unwrap_or_else(|| b1.unwrap_or(0) - before);
        let mut start_new = b1.unwrap_or_else(|| a1.unwrap_or(0) + before);
        let mut end_old = a2.unwrap_or_else(|| b2.unwrap_or(0) - after);
        let mut end_new = b2.unwrap_or_else(|| a2.unwrap_or(0) + after);
        let add_start = CONTEXT.min(start_old);
        start_old -= add_start;
        start_new -= add_start;
        let old_size = old_size as isize;
        let add_end = if end_old + CONTEXT >= old_size {
            old_size - end_old - 1
        } else {
            CONTEXT
        };
        end_old += add_end;
        end_new += add_end;
        Self {
            blocks: vec![piece],
            start_old,
            start_new,
            end_old,
            end_new,
            file_length_difference: after,
        }
    }

    fn overlaps(&self, before: &Hunk) -> bool {
        self.start_old - before.end_old <= 1 || self.start_new - before.end_new <= 1
    }

    fn merge(&mut self, before: Hunk) {
        self.start_old = before.start_old;
        self.start_new = before.start_new;
        let mut blocks = before.blocks;
        blocks.append(&mut self.blocks);
        self.blocks = blocks;
    }

    fn range(start: isize, end: isize, empty: bool) -> String {
        if empty {
            return "0,0".to_owned();
        }
        let (s, e) = (start + 1, end + 1);
        let length = e - s + 1;
        if length <= 1 {
            e.to_string()
        } else {
            format!("{s},{length}")
        }
    }

    fn unified(&self, old: &[&str], new: &[&str]) -> String {
        let empty = |lines: &[&str]| lines.is_empty() || (lines.len() == 1 && lines[0].is_empty());
        let mut text = format!(
            "@@ -{} +{} @@\n",
            Self::range(self.start_old, self.end_old, empty(old)),
            Self::range(self.start_new, self.end_new, empty(new))
        );
        let mut outlist: Vec<String> = ruby_slice(old, self.start_old, self.end_old)
            .iter()
            .map(|line| format!(" {line}"))
            .collect();
        let (mut added, mut removed) = (0isize, 0isize);
        for block in &self.blocks {
            for change in block.iter().filter(|c| !c.adding) {
                let offset = (change.position as isize - self.start_old + added) as usize;
                if let Some(line) = outlist.get_mut(offset) {
                    line.replace_range(0..1, "-");
                }
                removed += 1;
            }
            for change in block.iter().filter(|c| c.adding) {
                let offset = (change.position as isize - self.start_new + removed) as usize;
                let line = format!("+{}", new[change.position]);
                outlist.insert(offset.min(outlist.len()), line);
                added += 1;
            }
        }
        text.push_str(&outlist.join("\n"));
        text
    }
}

/// `lines[lo..hi]` as Ruby reads an inclusive range (a negative end counts from the end).
fn ruby_slice<'a>(lines: &'a [&'a str], lo: isize, hi: isize) -> &'a [&'a str] {
    let len = lines.len() as isize;
    let hi = if hi < 0 { hi + len } else { hi };
    if lo < 0 || lo > hi || lo >= len {
        return &[];
    }
    &lines[lo as usize..=(hi.min(len - 1)) as usize]
}

/// pact-support's `Differ#diff_as_string(new, old)`: every hunk in unified
/// format. A merged piece still adds a newline, so hunks after the first
/// may be preceded by blank lines, as the Pact Broker's are.
pub(super) fn diff_as_string(new_text: &str, old_text: &str) -> String {
    let old = ruby_lines(old_text);
    let new = ruby_lines(new_text);
    let pieces = pieces(&old, &new);
    let mut output = String::new();
    if pieces.is_empty() {
        return output;
    }
    let mut previous: Option<Hunk> = None;
    let mut file_length_difference = 0;
    for piece in pieces {
        let mut hunk = Hunk::new(old.len(), piece, file_length_difference);
        file_length_difference = hunk.file_length_difference;
        if let Some(before) = previous.take() {
            if hunk.overlaps(&before) {
                hunk.merge(before);
            } else {
                output.push_str(&before.unified(&old, &new));
            }
        }
        previous = Some(hunk);
        output.push('\n');
    }
    if let Some(last) = previous {
        output.push_str(&last.unified(&old, &new));
    }
    output.push('\n');
    output
}

/// The pairs of equal lines between two texts: what finding their longest
/// common subsequence costs.
pub(super) fn equal_line_pairs(new_text: &str, old_text: &str) -> u64 {
    let mut counts: HashMap<&str, (u64, u64)> = HashMap::new();
    for line in ruby_lines(old_text) {
        counts.entry(line).or_default().0 += 1;
    }
    for line in ruby_lines(new_text) {
        counts.entry(line).or_default().1 += 1;
    }
    counts.values().map(|(old, new)| old * new).sum()
}

/// Ruby's `split("\n")`: trailing empty lines are dropped; each line is chomped.
pub(super) fn ruby_lines(text: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = text
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .collect();
    while lines.last().is_some_and(|line| line.is_empty()) {
        lines.pop();
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_texts_have_no_diff() {
        assert_eq!(diff_as_string("a\nb\n", "a\nb\n"), "");
    }

    #[test]
    fn one_changed_line_is_one_hunk_with_context() {
        let old = "1\n2\n3\n4\n5\n6\n7\n8\n9";
        let new = "1\n2\n3\n4\nfive\n6\n7\n8\n9";
        assert_eq!(
            diff_as_string(new, old),
            "\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n"
        );
    }

    #[test]
    fn distant_changes_are_separate_hunks() {
        let old: Vec<String> = (1..=20).map(|n| n.to_string()).collect();
        let mut new = old.clone();
        new[1] = "two".into();
        new[17] = "eighteen".into();
        let text = diff_as_string(&new.join("\n"), &old.join("\n"));
        assert_eq!(
            text,
            "\n@@ -1,5 +1,5 @@\n 1\n-2\n+two\n 3\n 4\n 5\n@@ -15,6 +15,6 @@\n 15\n 16\n 17\n-18\n+eighteen\n 19\n 20\n"
        );
    }

    #[test]
    fn the_common_subsequence_is_diff_lcs_s() {
        // Hunt–Szymanski as diff-lcs runs it matches "x" with the last
        // candidate it can: the removed line is the first "x".
        assert_eq!(
            lcs(&["x", "a", "x"], &["a", "x"]),
            vec![None, Some(0), Some(1)]
        );
    }
}
