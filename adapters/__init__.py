"""leadkey.adapters"""
