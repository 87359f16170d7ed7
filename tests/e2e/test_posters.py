"""Posters show in a real browser under the site's own Content-Security-Policy."""


def test_a_poster_loads_with_no_csp_error(browser, stack):
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    try:
        page.goto(stack[0] + "/movies/the-long-orbit/")
        poster = page.locator(".movie__poster img")
        poster.wait_for()
        page.wait_for_load_state("networkidle")
        loaded = poster.evaluate("img => img.complete && img.naturalWidth")
        assert loaded >= 300, loaded
        assert poster.get_attribute("alt") == "Poster for The Long Orbit"
        assert poster.get_attribute("src").startswith("/media/")
    finally:
        context.close()
    assert errors == [], errors
