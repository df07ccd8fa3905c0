package model

func Helper() {}
