"""The quota suite of test_quota.py once more, on a node whose counters
are in Redis (LLMRouteQuotaStore redis://...): limits, budgets, real
usage, groups, Retry-After and the headers of both dialects must come
out the same whichever store counts."""

import os
import tempfile

import pytest

import test_quota
from gwtest.httpd import GatewayServer
from gwtest.redis import RedisServer
from test_quota import (  # noqa: F401 -- collected here against Redis
    test_anthropic_dialect_headers,
    test_daily_budget,
    test_group_quota_is_shared_by_its_members,
    test_monthly_budget,
    test_requests_per_minute_exact_under_concurrency,
    test_tokens_per_minute_counts_real_usage,
    test_tokens_per_minute_exact_under_concurrency,
    test_user_override_lifts_the_default,
)


@pytest.fixture(scope="module")
def redis():
    d = tempfile.mkdtemp(prefix="llmgw-redis-")
    r = RedisServer(d)
    r.start()
    yield r
    r.destroy()


@pytest.fixture(scope="module")
def gw(minter, mock_provider, postgres, redis):
    g = GatewayServer(
        minter, mock=mock_provider, pg=postgres,
        gateway_d={
            "60-quotas.conf": test_quota.QUOTAS.format(
                tokhammer=test_quota.TOKHAMMER_LIMIT),
            "65-quota-store.conf": "LLMRouteQuotaStore "
                                   "redis://127.0.0.1:%d/0 timeout=500ms\n"
                                   % redis.port},
        extra_conf=test_quota.SPREAD)
    try:
        g.start()
        yield g
        # Everything was counted in Redis, nothing on the node.
        page = open_metrics(g)
        assert "llm_gateway_quota_store_fallbacks_total 0" in page, page
        assert redis.keys("u\x1f*"), "nothing was counted in Redis"
    finally:
        g.destroy()


def open_metrics(g):
    import urllib.request
    with urllib.request.urlopen(g.url + "/llm-metrics", timeout=10) as r:
        return r.read().decode()
