//! Web leaderboard placeholder; see the leaderboard issue.
