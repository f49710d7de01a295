"""County public resource trading platform (县级公共资源交易平台)."""
