"""PDF documents through a real gateway: the text a provider would hand
the model is read and scanned, the file itself is never changed.

A PDF sent as a document (Anthropic `document` source, OpenAI `file`
part) used to be exempt from the scan as binary.  Providers extract a
PDF's text for the model, so a secret typed into a PDF reached the model
as surely as one typed into a message.  Each test builds a PDF the way
writers do (Flate-compressed page content, text shown in kerned pieces,
annotations and form fields, object streams), plants a value and asserts
what reached the capture provider; PDFs the gateway cannot read
(encrypted, deflate bombs) are refused in the caller's dialect rather
than forwarded unscanned.
"""

import base64
import zlib

import pytest

import scan_helpers as sh

CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"

DIALECTS = ["openai", "anthropic"]


def pdf(objects, trailer="<< /Root 1 0 R >>"):
    """A PDF of the given object bodies (bytes), numbered from 1."""
    out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    for n, body in enumerate(objects, 1):
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    return out + b"trailer\n" + trailer.encode() + b"\n%%EOF\n"


def stream_obj(data, dict_=b"", flate=True):
    if flate:
        data = zlib.compress(data)
        dict_ += b" /Filter /FlateDecode"
    return (b"<< /Length %d%s >>\nstream\n" % (len(data), dict_) + data
            + b"\nendstream")


def page_pdf(content, extra=()):
    """A one-page document whose page shows `content` (operators)."""
    return pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                b"<< /Type /Page /Parent 2 0 R /Contents 4 0 R"
                b" /Resources << /Font << /F1 5 0 R >> >> >>",
                stream_obj(content),
                b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
               + list(extra))


def document_body(dialect, data):
    b64 = base64.b64encode(data).decode()
    if dialect == "anthropic":
        part = {"type": "document",
                "source": {"type": "base64", "media_type": "application/pdf",
                           "data": b64}}
        return {"model": sh.CLAUDE, "max_tokens": 16,
                "messages": [{"role": "user", "content": [
                    part, {"type": "text", "text": "summarise this"}]}]}
    part = {"type": "file",
            "file": {"filename": "report.pdf",
                     "file_data": "data:application/pdf;base64," + b64}}
    return {"model": sh.GPT, "messages": [{"role": "user", "content": [
        part, {"type": "text", "text": "summarise this"}]}]}


def send(gw, dialect, body, token, user_agent):
    return sh.post(gw, token, MESSAGES if dialect == "anthropic" else CHAT,
                   body, user_agent)


def assert_nowhere(gateway, mock, value, resp):
    for rq in mock.requests:
        assert value.encode() not in rq.body, "the value reached the provider"
        assert value not in rq.path
    assert value not in resp.body.decode("utf-8", "replace")
    assert value not in gateway.error_log_text()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_key_on_a_compressed_page_is_blocked(gateway, mock, minter,
                                             user_agent, dialect):
    key = sh.aws_access_key_id()
    data = page_pdf(b"BT /F1 11 Tf 72 700 Td (Staging credentials) Tj"
                    b" 0 -14 Td (aws_access_key_id = " + key.encode()
                    + b") Tj ET")
    assert key.encode() not in data      # compressed: not in the bytes
    resp = send(gateway, dialect, document_body(dialect, data),
                minter.mint(), user_agent)
    assert resp.status == 403, resp
    assert mock.requests == []
    finding = resp.json()["error"]["findings"][0]
    assert finding["type"] == "AWS_ACCESS_KEY"
    assert_nowhere(gateway, mock, key, resp)
    (row,) = gateway.audit.rows_for_user_agent(user_agent)
    assert row["decision"] == "block"
    assert key not in str(row)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_clean_pdf_reaches_the_provider_byte_for_byte(gateway, mock, minter,
                                                      user_agent, dialect):
    data = page_pdf(b"BT /F1 11 Tf 72 700 Td [(Quarterly) -300 (report:)]"
                    b" TJ 0 -14 Td (revenue up 4%) Tj ET")
    body = document_body(dialect, data)
    resp = send(gateway, dialect, body, minter.mint(), user_agent)
    assert resp.status == 200, resp
    sent = mock.last_request().json()
    part = sent["messages"][0]["content"][0]
    got = (part["source"]["data"] if dialect == "anthropic"
           else part["file"]["file_data"].split(",", 1)[1])
    assert base64.b64decode(got) == data


@pytest.mark.parametrize("dialect", DIALECTS)
def test_token_drawn_in_kerned_pieces_is_blocked(gateway, mock, minter,
                                                 user_agent, dialect):
    token = sh.github_token()
    a, b, c = token[:7], token[7:19], token[19:]
    content = (b"BT /F1 9 Tf 50 50 Td [(" + a.encode() + b") -15 ("
               + b.encode() + b") 8 (" + c.encode() + b")] TJ ET")
    resp = send(gateway, dialect, document_body(dialect, page_pdf(content)),
                minter.mint(), user_agent)
    assert resp.status == 403, resp
    assert mock.requests == []
    assert_nowhere(gateway, mock, token, resp)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_email_in_a_form_field_cannot_be_redacted_so_is_blocked(
        gateway, mock, minter, user_agent, dialect):
    # Personal data is redacted in messages; a PDF cannot be rewritten, so
    # the same finding there blocks the request.
    addr = sh.email()
    field = (b"<< /FT /Tx /T (contact) /V (" + addr.encode() + b") >>")
    data = page_pdf(b"BT /F1 9 Tf 50 50 Td (Form) Tj ET", extra=[field])
    resp = send(gateway, dialect, document_body(dialect, data),
                minter.mint(), user_agent)
    assert resp.status == 403, resp
    assert mock.requests == []
    assert [f["type"] for f in resp.json()["error"]["findings"]] == ["EMAIL"]
    assert_nowhere(gateway, mock, addr, resp)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_key_in_an_annotation_inside_an_object_stream_is_blocked(
        gateway, mock, minter, user_agent, dialect):
    key = sh.aws_access_key_id()
    objs = (b"6 0 << /Type /Annot /Subtype /Text /Contents (rotate "
            + key.encode() + b" today) >>")
    objstm = stream_obj(objs, b" /Type /ObjStm /N 1 /First 4")
    data = page_pdf(b"BT (x) Tj ET", extra=[objstm])
    resp = send(gateway, dialect, document_body(dialect, data),
                minter.mint(), user_agent)
    assert resp.status == 403, resp
    assert mock.requests == []
    assert_nowhere(gateway, mock, key, resp)


def cid_pdf(text):
    """A page as browsers print it: a Type0 font of subset glyph ids,
    whose ToUnicode map alone says which character each id draws."""
    chars = sorted(set(text))
    ids = {ch: 3 + 7 * i for i, ch in enumerate(chars)}    # scattered ids
    shown = "<" + "".join("%04X" % ids[ch] for ch in text) + ">"
    cmap = ("/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
            "1 begincodespacerange <0000> <FFFF> endcodespacerange\n"
            "%d beginbfchar\n%s\nendbfchar\nendcmap end end"
            % (len(chars), "\n".join("<%04X> <%04X>" % (ids[ch], ord(ch))
                                     for ch in chars)))
    return pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                b"<< /Type /Page /Parent 2 0 R /Contents 4 0 R"
                b" /Resources << /Font << /F7 5 0 R >> >> >>",
                stream_obj(("BT /F7 10 Tf 1 0 0 1 72 700 Tm %s Tj ET"
                            % shown).encode()),
                b"<< /Type /Font /Subtype /Type0 /BaseFont /ABCDEF+Inter"
                b" /Encoding /Identity-H /ToUnicode 6 0 R >>",
                stream_obj(cmap.encode())])


@pytest.mark.parametrize("dialect", DIALECTS)
def test_key_in_a_browser_printed_pdf_is_blocked(gateway, mock, minter,
                                                 user_agent, dialect):
    # The glyph ids say nothing by themselves; read through the font's
    # ToUnicode map they are the key, as the provider reads them.
    key = sh.aws_access_key_id()
    data = cid_pdf("aws_access_key_id = " + key)
    resp = send(gateway, dialect, document_body(dialect, data),
                minter.mint(), user_agent)
    assert resp.status == 403, resp
    assert mock.requests == []
    assert resp.json()["error"]["findings"][0]["type"] == "AWS_ACCESS_KEY"
    assert_nowhere(gateway, mock, key, resp)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_encrypted_pdf_is_refused_in_the_callers_dialect(
        gateway, mock, minter, user_agent, dialect):
    data = page_pdf(b"\x8f\x02\xa1 unreadable", extra=[
        b"<< /Filter /Standard /V 4 /R 4 /Length 128 >>"])
    data = data.replace(b"<< /Root 1 0 R >>", b"<< /Root 1 0 R /Encrypt 6 0 R >>")
    resp = send(gateway, dialect, document_body(dialect, data),
                minter.mint(), user_agent)
    assert resp.status == 400, resp
    err = sh.error_of(resp, dialect)
    assert err["type"] == "invalid_request_error", err
    assert "encrypted PDF" in err["message"], err
    assert mock.requests == []


@pytest.mark.parametrize("dialect", DIALECTS)
def test_deflate_bomb_is_refused_not_inflated_without_end(
        gateway, mock, minter, user_agent, dialect):
    bomb = zlib.compress(b"\0" * (80 * 1024 * 1024), 9)
    assert len(bomb) < 200 * 1024
    data = pdf([b"<< /Type /Catalog >>",
                b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(bomb)
                + bomb + b"\nendstream"])
    resp = send(gateway, dialect, document_body(dialect, data),
                minter.mint(), user_agent)
    assert resp.status == 400, resp
    assert "64 MB" in sh.error_of(resp, dialect)["message"]
    assert mock.requests == []
