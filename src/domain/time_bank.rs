//! The time bank (时间银行): approved hours earn points at the community's `points_per_hour`;
//! staff redeem points for an item. A balance never goes below zero.

/// The most points one redemption may take: more is a typo.
pub const MAX_REDEMPTION: i64 = 1_000_000;

/// Points that `minutes` of approved service earn: their share of `per_hour`, rounded down.
pub fn earned(minutes: i64, per_hour: u32) -> i64 {
    minutes.max(0) * i64::from(per_hour) / 60
}

/// The amount of a redemption: required, positive, bounded.
pub fn amount(n: Option<i64>) -> Result<i64, &'static str> {
    match n {
        None => Err("required"),
        Some(n) if (1..=MAX_REDEMPTION).contains(&n) => Ok(n),
        Some(_) => Err("out_of_range"),
    }
}

/// Whether `balance` covers `amount`; the store's conditional update is what enforces it.
pub fn covers(balance: i64, amount: i64) -> Result<(), &'static str> {
    if balance >= amount {
        Ok(())
    } else {
        Err("insufficient_points")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_earn_their_share_rounded_down() {
        assert_eq!(earned(60, 10), 10);
        assert_eq!(earned(90, 10), 15);
        assert_eq!(earned(5, 10), 0);
        assert_eq!(earned(120, 0), 0);
    }

    #[test]
    fn redemptions_are_positive_and_covered() {
        assert_eq!(amount(None), Err("required"));
        assert_eq!(amount(Some(0)), Err("out_of_range"));
        assert_eq!(amount(Some(10)), Ok(10));
        assert_eq!(covers(10, 10), Ok(()));
        assert_eq!(covers(9, 10), Err("insufficient_points"));
    }
}
