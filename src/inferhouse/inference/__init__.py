"""Named inference configurations in the style of Elasticsearch's _inference API: where text goes to be embedded, ranked or completed."""  # noqa: E501
