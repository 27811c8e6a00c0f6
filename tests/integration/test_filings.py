"""The site's filings (ICP 备案号, 公安备案号) in the footer; production needs the ICP one."""

from __future__ import annotations

import pytest

from xometry_site.config import ProductionConfig

ICP = "沪ICP备12345678号-1"
PSB = "沪公网安备31010902000000号"


@pytest.fixture
def app_config() -> dict:
    return {"ICP_LICENSE": ICP, "PSB_LICENSE": PSB}


@pytest.mark.parametrize("path", ["/", "/policy", "/cookies", "/login"])
def test_both_filings_are_in_the_footer_of_every_page(client, path):
    page = client.get(path).get_data(as_text=True)
    footer = page[page.index("<footer") :]
    assert 'href="https://beian.miit.gov.cn/"' in footer and ICP in footer
    assert PSB in footer and "beian.mps.gov.cn" in footer and "code=31010902000000" in footer


def test_without_settings_the_footer_names_no_filing(app, client):
    app.config.update(ICP_LICENSE=None, PSB_LICENSE=None)
    page = client.get("/?lang=en").get_data(as_text=True)
    assert "beian" not in page


def test_production_refuses_to_start_without_an_icp_license():
    with pytest.raises(RuntimeError, match="ICP_LICENSE must be set"):
        ProductionConfig.validate({"ICP_LICENSE": ""})
    with pytest.raises(RuntimeError) as refused:
        ProductionConfig.validate({"ICP_LICENSE": ICP})
    assert "ICP_LICENSE" not in str(refused.value)
