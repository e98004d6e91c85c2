"""The check of the Saccader's architecture settings beyond the BagNet variant
(`attention_widths`), part of `RunSettings.validate` (`saccader_tf.run.validate`)."""

from saccader_tf.run.settings_error import ARG, SettingsError


def check_attention_widths(settings):
    """`attention_widths` is empty (the default widths) or four positive whole numbers, and is a
    Saccader setting (DRAM has no attention network)."""
    widths = settings.attention_widths
    if not widths:
        return
    shown = ",".join(str(width) for width in widths)
    if len(widths) != 4 or min(widths) < 1:
        raise SettingsError(
            f"{ARG}attention_widths takes four positive widths, one per convolution of the "
            f"attention network (e.g. 64,64,32,32), or nothing for the default. "
            f"Received: {ARG}attention_widths={shown}"
        )
    if settings.architecture == "dram":
        raise SettingsError(
            f"{ARG}attention_widths applies to the Saccader; DRAM has no attention network. "
            f"Received: {ARG}attention_widths={shown} {ARG}architecture=dram"
        )
