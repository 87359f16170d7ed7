"""Pages go out compressed: a 500-seat map is very repetitive HTML."""


def test_pages_are_compressed_for_clients_that_accept_it(client, showtime):
    plain = client.get(showtime.get_absolute_url())
    packed = client.get(showtime.get_absolute_url(), headers={"accept-encoding": "gzip"})
    assert packed["Content-Encoding"] == "gzip"
    assert len(packed.content) * 4 < len(plain.content)
