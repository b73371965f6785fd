"""leadkey.domain"""
