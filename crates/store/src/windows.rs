//! Reading a page in windows of its sort column, so that a page reads about a page of rows
//! however long the history: ClickHouse 18.16 cannot stop reading a key range once it has the
//! first rows in order (current releases can, with `optimize_read_in_order`), so a query asks
//! for one window of the sort column at a time, narrow enough to hold about what is missing.

use std::future::Future;

use crate::Result;

/// The first window a page looks in, unless a previous page says how dense the statements are:
/// 100 ms, a page's worth at a thousand statements a second. A sparser history takes a few
/// more, ever wider windows (at most 64 times as wide each: six to go back three years).
pub const FIRST_WINDOW: u64 = 100_000;
/// The most rows one window's query may read (`max_rows_to_read`, every key it reads together):
/// a window that would read more (a burst denser than the windows before it) is read again
/// narrower, so that no query reads much more than its page.
pub const WINDOW_ROWS: u64 = 100_000;
/// How much narrower a window is read again when it would read more than [`WINDOW_ROWS`].
/// Until a window finds a row, later windows stay below half the width that failed: the rows
/// are within it, and growing past it again would fail again.
const NARROWER: u64 = 4;
/// How many times a page's windows may ask where the next rows are ([`Reach`]); past that they
/// grow blind, so that a page of keys that each have rows but few in common (which the index
/// of each key's density cannot see) costs a few queries more at most.
const REACHES: u32 = 4;

/// Where a page may come from: the sort column's values `from..=to`, in page order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub from: i64,
    pub to: i64,
    pub ascending: bool,
}

/// What a page read in windows found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Windowed<T> {
    pub rows: Vec<T>,
    /// How wide the last window was: where the next page starts.
    pub width: u64,
}

/// What [`read_windows`] learns when a window finds few or no rows: how far what is left of the
/// span must be read to hold the missing rows, as an index of the rows' density tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// A window this wide (µs) holds them, or as many as there are.
    Width(u64),
    /// Nothing is left: the page is complete.
    Exhausted,
    /// The index cannot tell: the windows grow at the density they saw.
    Unknown,
}

/// The reach of a column without an index of its density ([`read_windows`]'s `reach`): it
/// cannot tell, so the windows grow at the density they saw.
pub fn blind(_: Span, _: u64, _: u64) -> std::future::Ready<Result<Reach>> {
    std::future::ready(Ok(Reach::Unknown))
}

/// Reads up to `limit` rows of `span` in page order, window by adjacent window, the first
/// `width` wide. `read(window, wanted, bounded)` returns the first `wanted` rows of the
/// inclusive window in page order; when `bounded` it must read at most [`WINDOW_ROWS`] rows
/// (see [`bound`]) and fail with ClickHouse's row limit otherwise. A window of one value is read
/// unbounded, however many rows it has. A window that finds less than half of what is still
/// missing after it, with span left, asks `reach(left, missing, found)` how wide the next must
/// be (at most [`REACHES`] times a page), so that the windows cross a quiet spell in a step
/// instead of growing blind through it (by up to 64 times a window) and overshooting into the
/// history beyond; otherwise, or when the reach cannot tell, a window grows at the density it
/// saw.
pub async fn read_windows<T, F, Fut, G, GFut>(
    span: Span,
    limit: u64,
    width: u64,
    mut read: F,
    mut reach: G,
) -> Result<Windowed<T>>
where
    F: FnMut((i64, i64), u64, bool) -> Fut,
    Fut: Future<Output = Result<Vec<T>>>,
    G: FnMut(Span, u64, u64) -> GFut,
    GFut: Future<Output = Result<Reach>>,
{
    let Span {
        mut from,
        mut to,
        ascending,
    } = span;
    let mut width = width.max(1);
    let mut ceiling = u64::MAX;
    let mut reaches = 0;
    let mut rows = Vec::new();
    while from <= to && (rows.len() as u64) < limit {
        let reach_back = i64::try_from(width - 1).unwrap_or(i64::MAX);
        let window = if ascending {
            (from, from.saturating_add(reach_back).min(to))
        } else {
            (to.saturating_sub(reach_back).max(from), to)
        };
        let wanted = limit - rows.len() as u64;
        let bounded = width > 1;
        let found = match read(window, wanted, bounded).await {
            Err(error) if bounded && error.is_row_limit() => {
                ceiling = (width / 2).max(1);
                width = (width / NARROWER).max(1);
                continue;
            }
            found => found?,
        };
        if !found.is_empty() {
            ceiling = u64::MAX;
        }
        let found_rows = found.len() as u64;
        let missing = wanted - found_rows;
        width = next_width(width, found_rows, missing).min(ceiling);
        rows.extend(found);
        if ascending {
            if window.1 >= to {
                break;
            }
            from = window.1 + 1;
        } else {
            if window.0 <= from {
                break;
            }
            to = window.0 - 1;
        }
        if found_rows * 2 < missing && reaches < REACHES {
            reaches += 1;
            match reach(
                Span {
                    from,
                    to,
                    ascending,
                },
                missing,
                found_rows,
            )
            .await?
            {
                Reach::Width(reached) => width = reached.clamp(1, ceiling),
                Reach::Exhausted => break,
                Reach::Unknown => {}
            }
        }
    }
    Ok(Windowed { rows, width })
}

/// Bounds a window's query as [`read_windows`] asks when `bounded`.
pub fn bound(query: clickhouse::query::Query, bounded: bool) -> clickhouse::query::Query {
    if !bounded {
        return query;
    }
    query
        .with_setting("max_rows_to_read", WINDOW_ROWS.to_string())
        .with_setting("read_overflow_mode", "throw")
}

/// The width after a window of `width` held `found` rows while `missing` are still missing:
/// wide enough for them at the density seen (twice over), as wide at least and at most 64
/// times as wide.
fn next_width(width: u64, found: u64, missing: u64) -> u64 {
    let factor = missing
        .saturating_mul(2)
        .checked_div(found)
        .map_or(64, |factor| factor.clamp(1, 64));
    width.saturating_mul(factor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    /// A sorted column, read as ClickHouse would, failing past `cap` rows when bounded.
    fn column(
        values: &[i64],
        ascending: bool,
        cap: usize,
    ) -> impl FnMut((i64, i64), u64, bool) -> std::future::Ready<Result<Vec<i64>>> {
        let mut values = values.to_vec();
        values.sort_unstable();
        if !ascending {
            values.reverse();
        }
        move |(from, to), wanted, bounded| {
            let within: Vec<i64> = values
                .iter()
                .copied()
                .filter(|value| (from..=to).contains(value))
                .collect();
            std::future::ready(if bounded && within.len() > cap {
                Err(Error::ClickHouse(clickhouse::error::Error::BadResponse(
                    "Code: 158. DB::Exception: Limit for rows exceeded".to_owned(),
                )))
            } else {
                Ok(within.into_iter().take(wanted as usize).collect())
            })
        }
    }

    /// A reach that knows the column: the width from the near end of `left` to the value that
    /// completes `missing` (the far end when there are fewer).
    fn knowing(
        values: &[i64],
    ) -> impl FnMut(Span, u64, u64) -> std::future::Ready<Result<Reach>> + use<> {
        let values = values.to_vec();
        move |left: Span, missing, _| {
            let mut within: Vec<i64> = values
                .iter()
                .copied()
                .filter(|value| (left.from..=left.to).contains(value))
                .collect();
            within.sort_unstable();
            if !left.ascending {
                within.reverse();
            }
            let reach = match within.iter().take(missing as usize).next_back() {
                None => Reach::Exhausted,
                Some(&edge) if left.ascending => Reach::Width((edge - left.from + 1) as u64),
                Some(&edge) => Reach::Width((left.to - edge + 1) as u64),
            };
            std::future::ready(Ok(reach))
        }
    }

    #[test]
    fn a_window_grows_to_hold_what_is_missing_at_the_density_it_saw() {
        // 25 found, 75 missing: twice that at this density is six times as wide.
        assert_eq!(next_width(10, 25, 75), 60);
        // Nearly done: as wide.
        assert_eq!(next_width(10, 100, 1), 10);
        // Nothing, or next to nothing: 64 times as wide, at most.
        assert_eq!(next_width(10, 0, 101), 640);
        assert_eq!(next_width(10, 1, 100), 640);
        assert_eq!(next_width(u64::MAX / 2, 0, 101), u64::MAX);
    }

    #[tokio::test]
    async fn windows_walk_back_through_gaps_and_bursts_and_miss_nothing() {
        // A quiet year, then a dense burst, then quiet again.
        let mut values: Vec<i64> = (0..50).map(|i| i * 1_000_000_000).collect();
        values.extend((0..5_000).map(|i| 60_000_000_000 + i));
        values.extend((0..50).map(|i| 70_000_000_000 + i * 1_000_000_000));
        let span = Span {
            from: 0,
            to: 200_000_000_000,
            ascending: false,
        };
        let mut expected: Vec<i64> = values.iter().rev().copied().collect();
        for limit in [1, 100, 5_100] {
            let page = read_windows(
                span,
                limit,
                FIRST_WINDOW,
                column(&values, false, 500),
                blind,
            )
            .await
            .unwrap();
            assert_eq!(page.rows, expected[..limit as usize]);
        }
        let ascending = Span {
            ascending: true,
            ..span
        };
        expected.reverse();
        let page = read_windows(
            ascending,
            200,
            FIRST_WINDOW,
            column(&values, true, 500),
            blind,
        )
        .await
        .unwrap();
        assert_eq!(page.rows, expected[..200]);
    }

    #[tokio::test]
    async fn a_burst_after_a_long_silence_is_found_by_halving_the_refused_windows() {
        // 5,000 rows in 5 ms, then a day of silence before `to`, and a bound of 500 rows: the
        // windows grow through the silence, overshoot into the burst and are refused, then
        // halve towards its edge, a refusal for each halving, about log2(a day / 500 µs).
        let values: Vec<i64> = (0..5_000).map(|i| 1_000_000_000 + i).collect();
        let span = Span {
            from: 0,
            to: 1_000_000_000 + 86_400_000_000,
            ascending: false,
        };
        let mut reads = 0;
        let mut refused = 0;
        let mut inner = column(&values, false, 500);
        let page = read_windows(
            span,
            101,
            FIRST_WINDOW,
            |window, wanted, bounded| {
                reads += 1;
                let answer = inner(window, wanted, bounded).into_inner();
                if answer.is_err() {
                    refused += 1;
                }
                std::future::ready(answer)
            },
            blind,
        )
        .await
        .unwrap();
        let expected: Vec<i64> = values.iter().rev().take(101).copied().collect();
        assert_eq!(page.rows, expected);
        let halvings = (86_400_000_000_f64 / 500.0).log2().ceil() as usize;
        assert!(
            refused <= halvings,
            "{refused} of {reads} windows were refused"
        );
        assert!(reads <= 2 * halvings, "{reads} windows were read");
    }

    #[tokio::test]
    async fn a_single_value_with_more_rows_than_the_bound_is_read_whole() {
        let values = vec![7; 1_000];
        let span = Span {
            from: 0,
            to: 1_000_000,
            ascending: true,
        };
        let page = read_windows(span, 2_000, 1_000_000, column(&values, true, 10), blind)
            .await
            .unwrap();
        assert_eq!(page.rows.len(), 1_000);
    }

    #[tokio::test]
    async fn an_error_other_than_the_row_limit_is_returned() {
        let span = Span {
            from: 0,
            to: 10,
            ascending: true,
        };
        let failing = |_, _, _| {
            std::future::ready(Err::<Vec<i64>, _>(Error::ClickHouse(
                clickhouse::error::Error::BadResponse("Code: 60. no table".to_owned()),
            )))
        };
        assert!(read_windows(span, 10, 5, failing, blind).await.is_err());
    }

    #[tokio::test]
    async fn a_few_rows_after_a_quiet_spell_are_followed_across_it_in_one_step() {
        // A dense history (100,000 rows, one every 3 ms), three hours of silence, then 11 rows:
        // the first window holds the 11, too few to grow blind 16 times as wide, so the reach
        // crosses the silence and the second window reads the 89 missing, not the history.
        let mut values: Vec<i64> = (0..100_000).map(|i| i * 3_000).collect();
        let quiet = 300_000_000 + 3 * 3_600_000_000;
        values.extend((0..11).map(|i| quiet + i * 1_000));
        let span = Span {
            from: 0,
            to: quiet + 10_000,
            ascending: false,
        };
        let mut read = 0;
        let mut windows = 0;
        let mut inner = column(&values, false, usize::MAX);
        let page = read_windows(
            span,
            100,
            20_000,
            |window: (i64, i64), wanted, bounded| {
                windows += 1;
                read += values
                    .iter()
                    .filter(|value| (window.0..=window.1).contains(value))
                    .count();
                inner(window, wanted, bounded)
            },
            knowing(&values),
        )
        .await
        .unwrap();
        let expected: Vec<i64> = values.iter().rev().take(100).copied().collect();
        assert_eq!(page.rows, expected);
        assert_eq!(windows, 2);
        assert_eq!(read, 100, "rows in the windows read");
    }

    #[tokio::test]
    async fn a_reach_that_finds_nothing_left_ends_the_page() {
        // Two rows at the near end and a long, empty rest of the span: the reach after them
        // finds nothing left, so no window reads the rest.
        let values: Vec<i64> = vec![999_999_998, 1_000_000_000];
        let span = Span {
            from: 0,
            to: 1_000_000_000,
            ascending: false,
        };
        let mut windows = 0;
        let mut inner = column(&values, false, usize::MAX);
        let page = read_windows(
            span,
            100,
            10,
            |window, wanted, bounded| {
                windows += 1;
                inner(window, wanted, bounded)
            },
            knowing(&values),
        )
        .await
        .unwrap();
        assert_eq!(page.rows, vec![1_000_000_000, 999_999_998]);
        assert_eq!(windows, 1);
    }
}
