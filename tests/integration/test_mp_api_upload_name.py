"""wx.uploadFile names the file after a temporary path: the Mini Program sends the name the person
chose in formData, and the part carries it — unless it names another kind of file."""

from __future__ import annotations

import pytest
from test_mp_api import API, bearer, register
from test_quotes_support import cube_stl, multipart
from wechat_support import *  # noqa: F403 - the fixtures app_config, sim, sim_server

TEMPORARY = "tmp_8f1c2d.stl"  # what WeChat puts in the multipart part


def upload(client, tokens, fields):
    body, content_type = multipart(fields, [(TEMPORARY, cube_stl())])
    answer = client.post(
        f"{API}/quotes", data=body, content_type=content_type, headers=bearer(tokens)
    )
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["parts"][0]["filename"]


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ([("filename", "支架-第2版.stl")], "支架-第2版.stl"),
        ([("filename", "C:\\drawings\\bracket.STL")], "bracket.STL"),
        ([("filename", "bracket.step")], TEMPORARY),  # another type: the checks were for an STL
        ([("filename", "   ")], TEMPORARY),
        ([], TEMPORARY),
    ],
)
def test_the_part_is_named_as_the_person_chose_when_it_is_the_same_kind_of_file(
    client, sim, sent, shown
):
    assert upload(client, register(client, sim), sent) == shown
