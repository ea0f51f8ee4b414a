"""Engagement strategy per segment: RFM and tiers texts come from the library, levels/clusters here."""

from __future__ import annotations

STRATEGIES: dict[str, str] = {
    # RFM levels
    "Loyal": "Recognise and reward; cross-sell complementary products.",
    "Potential": "Nudge toward a regular habit with reminders and loyalty enrolment.",
    "Needs Attention": "Re-engage with targeted offers on what they bought before.",
    "Require Activation": "Cheap reactivation (email) and a clear reason to come back.",
    # value clusters
    "Top Value": "Protect and reward: VIP service, early access; avoid needless discounts.",
    "Very High Value": "Protect and reward: VIP service, early access; avoid needless discounts.",
    "High Value": "Retain and grow: personal recommendations, loyalty benefits.",
    "Above Average": "Grow the basket: bundles and cross-sell.",
    "Average": "Move them up: recommendations and incentives for an extra order.",
    "Below Average": "Low-cost nurturing: newsletters featuring products they bought.",
    "Low Value": "Keep contact cheap; test one reactivation offer.",
    "Very Low Value": "Minimal spend; automated messages only.",
    "Outlier": "Unusual behaviour: review individually (wholesale buyer, data error, fraud?).",
    "Inactive": "No purchase in the period: reactivation or let go, depending on past value.",
}


def strategies_for(config: object) -> dict[str, str]:
    """Segment -> strategy for a scheme config: its own ``strategies`` (tiers), else RFM texts + ours."""
    from segmint.report import rfm_strategies

    own = getattr(config, "strategies", None)
    return dict(own) if own else {**STRATEGIES, **rfm_strategies()}
