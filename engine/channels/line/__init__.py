"""LINE: Flex carousels, text, images and quick replies, pushed with line-bot-sdk.

``render`` checks every documented limit itself (the SDK's models do not
check carousel size or alt-text length); ``LineChannel`` pushes with a
retry key and maps LINE's answers onto ``engine.channels.errors``.
"""
