"""The browser fixtures catch what they promise to catch (conftest.py).

A check that never fails proves nothing: each test makes the page misbehave
on purpose and asserts the fixture noticed.
"""

import pytest

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True),
]


def test_a_request_to_a_third_party_is_recorded(new_page):
    page = new_page(bypass_csp=True)  # the site's CSP would stop the request before it leaves
    page.route("http://tracker.invalid/**", lambda route: route.abort())
    page.goto("/fr/")

    with page.expect_request("http://tracker.invalid/pixel.gif"):
        page.evaluate("fetch('http://tracker.invalid/pixel.gif').catch(() => null)")

    assert page.watch.third_party_urls() == ["http://tracker.invalid/pixel.gif"]
    page.watch.urls.remove("http://tracker.invalid/pixel.gif")  # let the teardown check pass


def test_a_script_without_the_nonce_is_blocked_and_reported(page):
    page.goto("/fr/")

    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.injected = true'; document.body.append(s); }"
    )

    assert page.evaluate("window.injected === undefined")
    assert [error for error in page.watch.errors if error.startswith("CSP: ")]
    page.watch.errors.clear()  # let the teardown check pass


def test_axe_check_reports_each_violation_with_its_nodes(axe_page, axe_check):
    axe_page.goto("/fr/")
    axe_page.set_content('<html lang="fr"><title>t</title><main><img src="data:,"></main></html>')

    with pytest.raises(AssertionError) as failure:
        axe_check(axe_page)

    assert "- image-alt (critical): Images must have alternative text" in str(failure.value)
    assert "['img']" in str(failure.value)
