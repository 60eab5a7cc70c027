import pytest

from xtrarestore.core.storage.location import S3Location, parse_s3_url


@pytest.mark.parametrize(
    ("url", "bucket", "prefix"),
    [
        ("s3://backups", "backups", ""),
        ("s3://backups/", "backups", ""),
        ("s3://backups/mysql", "backups", "mysql/"),
        ("s3://backups//mysql//db1/", "backups", "mysql/db1/"),
    ],
)
def test_parse_s3_url(url, bucket, prefix):
    assert parse_s3_url(url) == S3Location(bucket, prefix)


@pytest.mark.parametrize("url", ["s3://", "s3:///x", "/backups/mysql", "s3://user:pw@host/x", "s3://b/../x"])
def test_parse_s3_url_rejects(url):
    with pytest.raises(ValueError):
        parse_s3_url(url)


def test_keys_and_urls_are_relative_to_the_prefix():
    location = parse_s3_url("s3://backups/mysql")
    assert location.key("Mon/full.xbstream") == "mysql/Mon/full.xbstream"
    assert location.url(location.key("Mon")) == "s3://backups/mysql/Mon"
